"""The API's routes by room: what anyone may read, the customer's, sessions, the
courier's, the technician's, and the event stream. Each module's ``router`` binds its
routes to the kiosk it serves."""
