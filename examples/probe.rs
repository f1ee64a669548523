//! Prints what this host supports: clone3 and its flags, each namespace
//! kind (for the caller and for an unprivileged process), the cgroup v2
//! mount, the seccomp mode and the kernel release, with the reason where
//! something is missing.

fn main() {
    let host = clonekit::probe();
    print!("{host}");
}
