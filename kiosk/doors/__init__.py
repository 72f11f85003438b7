"""The closed loop: an unlock pulse is not an open door. Operations, the boards' view,
debouncing, the mass-open guard and the start's sensor checks."""
