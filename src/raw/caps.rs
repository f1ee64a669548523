//! Capabilities: capget, capset, the bounding and ambient sets, securebits and keepcaps (prctl).
