//! `Exec` in a few lines: pipes both ways, a pidfd, a working directory, and
//! what a failure looks like.
//!
//! ```sh
//! cargo run --example spawn
//! ```

use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use clonekit::{Exec, Stdio};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A child in /tmp that reads its stdin and answers on stdout, with a pidfd.
    let mut child = Exec::new("sh")
        .args(["-c", "echo \"$(pwd): $(tr a-z A-Z)\""])
        .current_dir("/tmp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .pidfd(true)
        .spawn()?;
    let pidfd = child.pidfd().map(|fd| fd.as_raw_fd());
    println!("spawned pid {} (pidfd {:?})", child.pid(), pidfd);

    child
        .stdin
        .take()
        .expect("piped")
        .write_all(b"hello through a pipe")?;
    // Dropping our end of stdin (taken above) lets the child see end of file.
    let mut answer = String::new();
    child.stdout.take().expect("piped").read_to_string(&mut answer)?;
    let status = child.wait()?;
    print!("child said: {answer}");
    println!("child exited: {status}");

    // A failure is an error from spawn, with the stage and the errno; the
    // child has already been reaped.
    match Exec::new("/no/such/program").spawn() {
        Ok(_) => println!("unexpectedly spawned"),
        Err(err) => println!("spawn failed as expected: {err}"),
    }
    match Exec::new("true").current_dir("/no/such/dir").spawn() {
        Ok(_) => println!("unexpectedly spawned"),
        Err(err) => println!("spawn failed as expected: {err}"),
    }
    Ok(())
}
