"""The screens of the kiosk, one journey step each."""
