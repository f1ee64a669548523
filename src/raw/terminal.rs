//! Terminals: the controlling terminal and foreground process group ioctls.
