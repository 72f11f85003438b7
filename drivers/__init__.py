"""The hardware seam: everything that touches a pin or a wire.

Nothing here imports :mod:`kiosk`. The kiosk knows drivers only through
:class:`drivers.base.Driver` and :func:`drivers.base.create_driver`.
"""
