"""All a front end may import from the daemon's side: the local API's client and the
scanner's text."""
