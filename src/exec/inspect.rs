//! What an [`Exec`] holds, shown as std shows a `Command`: the getters,
//! `Debug` as a command line, and `From<&Command>`.

use std::ffi::OsStr;
use std::fmt;
use std::path::Path;
use std::process::Command;

use super::Exec;

impl Exec {
    /// The program, as given to [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(clonekit::Exec::new("ls").get_program(), "ls");
    /// ```
    pub fn get_program(&self) -> &OsStr {
        &self.settings.program
    }

    /// The arguments, without `argv[0]`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut exec = clonekit::Exec::new("ls");
    /// exec.arg0("list").args(["-l", "/"]);
    /// assert_eq!(exec.get_args().collect::<Vec<_>>(), ["-l", "/"]);
    /// ```
    pub fn get_args(&self) -> impl ExactSizeIterator<Item = &OsStr> + '_ {
        self.settings.args.iter().map(|arg| arg.as_os_str())
    }

    /// The explicit changes to the environment, sorted by name: `Some`
    /// value for a variable set, `None` for one removed. After
    /// [`env_clear`](Self::env_clear), only the variables set since.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::ffi::OsStr;
    /// let mut exec = clonekit::Exec::new("ls");
    /// exec.env("B", "1").env_remove("A");
    /// let envs: Vec<_> = exec.get_envs().collect();
    /// assert_eq!(envs, [(OsStr::new("A"), None), (OsStr::new("B"), Some(OsStr::new("1")))]);
    /// ```
    pub fn get_envs(&self) -> impl ExactSizeIterator<Item = (&OsStr, Option<&OsStr>)> + '_ {
        let vars = self.settings.env.vars.iter();
        vars.map(|(key, value)| (key.as_os_str(), value.as_deref()))
    }

    /// The working directory, if [`current_dir`](Self::current_dir) set one.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut exec = clonekit::Exec::new("ls");
    /// assert_eq!(exec.get_current_dir(), None);
    /// exec.current_dir("/tmp");
    /// assert_eq!(exec.get_current_dir(), Some(std::path::Path::new("/tmp")));
    /// ```
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.settings.cwd.as_deref()
    }
}

impl fmt::Debug for Exec {
    /// The command line as `std::process::Command` prints it; with `{:#?}`,
    /// every field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return self.fmt_fields(f);
        }
        let settings = &self.settings;
        if let Some(dir) = &settings.cwd {
            write!(f, "cd {dir:?} && ")?;
        }
        if settings.env.clear {
            // The variables set afterwards follow, as assignments.
            f.write_str("env -i ")?;
        } else {
            // A removed variable needs the command wrapped in `env`.
            let mut removed = self.get_envs().filter(|(_, value)| value.is_none()).peekable();
            if removed.peek().is_some() {
                f.write_str("env ")?;
            }
            for (key, _) in removed {
                write!(f, "-u {} ", key.to_string_lossy())?;
            }
        }
        for (key, value) in self.get_envs() {
            if let Some(value) = value {
                write!(f, "{}={value:?} ", key.to_string_lossy())?;
            }
        }
        let program = settings.program.as_os_str();
        let arg0 = settings.arg0.as_deref().unwrap_or(program);
        if arg0 != program {
            write!(f, "[{program:?}] ")?;
        }
        write!(f, "{arg0:?}")?;
        for arg in self.get_args() {
            write!(f, " {arg:?}")?;
        }
        Ok(())
    }
}

impl Exec {
    /// Every field, for `{:#?}`.
    fn fmt_fields(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exec")
            .field("settings", &self.settings)
            .field("stdio", &self.stdio)
            .field("namespaces", &self.namespaces)
            .field("cgroup", &self.cgroup)
            .field("pidfd", &self.pidfd)
            .field("strategy", &self.strategy)
            .field("pre_exec_hooks", &self.hooks.len())
            .field("planned", &self.plan.is_some())
            .finish()
    }
}

impl From<&Command> for Exec {
    /// Takes the program, the arguments, the environment changes and the
    /// working directory (`std` does not show whether `env_clear` was called,
    /// nor its stdio, so neither is carried over).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut cmd = std::process::Command::new("sh");
    /// cmd.args(["-c", "echo $X"]).env("X", "from std");
    /// let out = clonekit::Exec::from(&cmd).output()?;
    /// assert_eq!(out.stdout, b"from std\n");
    /// # Ok::<(), clonekit::Error>(())
    /// ```
    fn from(cmd: &Command) -> Exec {
        let mut exec = Exec::new(cmd.get_program());
        exec.args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => exec.env(key, value),
                None => exec.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            exec.current_dir(dir);
        }
        exec
    }
}
