//! Running a program through `Exec` and reading what it printed.

use clonekit::{Exec, Strategy};

/// Bytes a program printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The child's stdout; it must succeed.
pub fn out(exec: &mut Exec) -> String {
    let output = exec.output().unwrap_or_else(|err| panic!("{exec:?}: {err}"));
    assert!(
        output.status.success(),
        "{exec:?}: {:?} {}",
        output.status,
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// `/bin/sh -c script`, spawned with `strategy`.
pub fn sh(script: &str, strategy: Strategy) -> Exec {
    let mut exec = Exec::new("/bin/sh");
    exec.args(["-c", script]).strategy(strategy);
    exec
}
