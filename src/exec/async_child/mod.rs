//! [`AsyncExecChild`] (feature `tokio`): an [`Exec`] child awaited in tokio
//! through its pidfd, and `Exec::spawn_async`/`status_async`/`output_async`.
//!
//! The child is created with its pidfd (`CLONE_PIDFD`, every strategy), which
//! is registered with tokio's reactor ([`AsyncFd`]). A pidfd becomes readable
//! when its process ends; the wait then reaps it with
//! `waitid(P_PIDFD, ..)`, which can only ever name that child. No `SIGCHLD`
//! handler is installed and no other process is reaped, so this lives beside
//! `tokio::process` and anything else that waits for its own children.

// Unsafe is denied crate-wide; this file holds some: registering the pidfd
// with tokio's reactor, whose constructor is unsafe (it cannot see that an
// fd stays open and the same while registered; an `OwnedFd` does).
#![allow(unsafe_code)]

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, Interest, ReadBuf};
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};
use tokio::runtime::Handle;

use super::plan::STDIO_SLOTS;
use super::stdio::StdioDefault;
use super::{Exec, ExecChild};
use crate::error::{errno_of, Error, Result};
use crate::raw;

mod pidfd_calls;
mod reap;

use self::reap::{discard, is_shutdown, reap, reap_when_ready, WaitError};

/// Where the child is: running (its pidfd registered with the reactor),
/// reaped by us, or reaped by someone else.
#[derive(Debug)]
enum State {
    /// Not reaped yet: the pidfd is the only way we name it.
    Running(Pidfd),
    /// Reaped by a wait of this handle.
    Exited(ExitStatus),
    /// Reaped by the kernel (the caller ignores `SIGCHLD`) with no exit kept
    /// on the pidfd (before Linux 6.15): its status is lost.
    Lost,
}

/// The child's pidfd, registered with a runtime's reactor or (after that
/// reactor went away and registering with another failed) not. Moving it
/// from one reactor to another keeps the same fd: closing it and opening
/// another by pid could name a process that reused the pid.
#[derive(Debug)]
enum Pidfd {
    Registered(AsyncFd<OwnedFd>),
    Unregistered(OwnedFd),
}

impl Pidfd {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Pidfd::Registered(registered) => registered.get_ref().as_fd(),
            Pidfd::Unregistered(fd) => fd.as_fd(),
        }
    }

    /// The fd itself, deregistered (from a reactor that may be gone).
    fn into_fd(self) -> OwnedFd {
        match self {
            Pidfd::Registered(registered) => registered.into_inner(),
            Pidfd::Unregistered(fd) => fd,
        }
    }
}

/// Registers `pidfd` with the current runtime's reactor; on failure it
/// comes back with the reactor's error.
fn register(pidfd: OwnedFd) -> std::result::Result<AsyncFd<OwnedFd>, (OwnedFd, io::Error)> {
    // SAFETY: an OwnedFd is open until the AsyncFd drops it (or gives it
    // back with into_inner), and always returns the same fd.
    unsafe { AsyncFd::register_with_interest(pidfd, Interest::READABLE) }
        .map_err(|refused| refused.into_parts())
}

/// A child started by [`Exec::spawn_async`], awaited in tokio: the surface of
/// `tokio::process::Child` ([`id`](Self::id), [`start_kill`](Self::start_kill),
/// [`kill`](Self::kill), [`try_wait`](Self::try_wait), [`wait`](Self::wait),
/// [`wait_with_output`](Self::wait_with_output), tokio's stdio types), plus
/// [`signal`](Self::signal) for any signal.
///
/// Every signal goes through the child's pidfd, so it never reaches a
/// process that reused the pid; once the child is reaped, signals are not
/// sent at all.
///
/// # Dropping
///
/// Dropping the handle does not kill the child unless
/// [`kill_on_drop`](Self::kill_on_drop) asked for it. It leaves no zombie:
/// a child that has not been reaped is handed to a task on the runtime that
/// spawned it, which awaits its pidfd and reaps it when it ends. That task
/// lives as long as the runtime: a child still running when the runtime
/// shuts down is not reaped by it (as with a dropped `std::process::Child`,
/// it stays a zombie once it exits, until this process ends).
///
/// # `SIGCHLD` ignored
///
/// When the caller ignores `SIGCHLD` (`SIG_IGN` or `SA_NOCLDWAIT`), the
/// kernel reaps the child itself the moment it exits (as it does a child of
/// [`Exec::autoreap`](crate::Exec::autoreap)). [`wait`](Self::wait) still
/// returns when the child ends (its pidfd becomes readable all the same),
/// with the exit status the kernel kept on the pidfd (`PIDFD_INFO_EXIT`,
/// Linux 6.15), as [`Child::wait`](crate::Child::wait) does. Before 6.15
/// the status is lost: the wait says `Sys { call: "waitid", errno: ECHILD }`,
/// and the pid is forgotten: [`signal`](Self::signal) fails with `ESRCH`.
///
/// # Examples
///
/// ```
/// use clonekit::{Exec, Stdio};
/// use tokio::io::AsyncReadExt;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let mut child = Exec::new("echo").arg("hi").stdout(Stdio::Piped).spawn_async()?;
/// let mut out = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut out).await?;
/// assert!(child.wait().await?.success());
/// assert_eq!(out, "hi\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AsyncExecChild {
    pid: u32,
    state: State,
    kill_on_drop: bool,
    /// The runtime whose reactor holds the pidfd: a dropped handle's reaper
    /// task runs there.
    runtime: Handle,
    /// The write end of the child's stdin, with [`Stdio::Piped`](super::Stdio::Piped).
    pub stdin: Option<ChildStdin>,
    /// The read end of the child's stdout, with [`Stdio::Piped`](super::Stdio::Piped).
    pub stdout: Option<ChildStdout>,
    /// The read end of the child's stderr, with [`Stdio::Piped`](super::Stdio::Piped).
    pub stderr: Option<ChildStderr>,
}

impl Exec {
    /// Starts the child as [`spawn`](Exec::spawn) does, with its pidfd
    /// (whatever [`pidfd`](Exec::pidfd) says), and returns a handle to
    /// await it in tokio. Needs the `tokio` feature, and must be called
    /// within a tokio runtime with I/O enabled.
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Exec::spawn), and:
    /// - `Unsupported` (`ENOSYS`): the kernel cannot make a pidfd with the
    ///   child (`CLONE_PIDFD`, Linux 5.2); waiting needs `waitid(P_PIDFD)`
    ///   (Linux 5.4) too;
    /// - `NoRuntime`: not called within a tokio runtime;
    /// - `Sys { call: "epoll_ctl" }`: the reactor refused the pidfd or a
    ///   pipe; the child has been killed and reaped.
    ///
    /// # Panics
    ///
    /// In a runtime built without I/O (`enable_io`), as tokio's own I/O
    /// types do.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("sh").args(["-c", "exit 3"]).spawn_async()?;
    /// assert_eq!(child.wait().await?.code(), Some(3));
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # References
    /// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html),
    ///   [waitid(2)](https://man7.org/linux/man-pages/man2/waitid.2.html)
    pub fn spawn_async(&mut self) -> Result<AsyncExecChild> {
        self.spawn_async_with([StdioDefault::Inherit; STDIO_SLOTS])
    }

    /// Runs the child to completion, awaited in tokio, with stdio inherited
    /// (unless set), and returns its exit status.
    ///
    /// # Errors
    ///
    /// As for [`spawn_async`](Exec::spawn_async) and
    /// [`AsyncExecChild::wait`].
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// assert_eq!(clonekit::Exec::new("false").status_async().await?.code(), Some(1));
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn status_async(&mut self) -> Result<ExitStatus> {
        self.spawn_async()?.wait().await
    }

    /// Runs the child to completion, awaited in tokio, and collects its
    /// stdout and stderr (piped unless set; stdin is `/dev/null` unless
    /// set), both read at once.
    ///
    /// # Errors
    ///
    /// As for [`spawn_async`](Exec::spawn_async) and
    /// [`AsyncExecChild::wait_with_output`].
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let out = clonekit::Exec::new("sh").args(["-c", "echo out; echo err >&2"]).output_async().await?;
    /// assert_eq!((out.stdout.as_slice(), out.stderr.as_slice()), (&b"out\n"[..], &b"err\n"[..]));
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn output_async(&mut self) -> Result<Output> {
        self.spawn_async_with([StdioDefault::Null, StdioDefault::Piped, StdioDefault::Piped])?
            .wait_with_output()
            .await
    }

    fn spawn_async_with(&mut self, defaults: [StdioDefault; STDIO_SLOTS]) -> Result<AsyncExecChild> {
        let runtime = Handle::try_current().map_err(|_| Error::NoRuntime)?;
        // The pidfd is not part of the cached plan: forcing it costs nothing.
        let asked = std::mem::replace(&mut self.pidfd, true);
        let spawned = self.spawn_with(defaults);
        self.pidfd = asked;
        AsyncExecChild::new(spawned?, runtime)
    }
}

impl AsyncExecChild {
    /// Registers the pidfd and the pipes of a child spawned with its pidfd.
    /// On failure the child is killed and reaped.
    fn new(mut spawned: ExecChild, runtime: Handle) -> Result<AsyncExecChild> {
        let pid = spawned.id();
        // Exec::kill_on_drop carries over to this handle.
        let kill_on_drop = spawned.hand_over();
        let Some(pidfd) = spawned.take_pidfd() else {
            unreachable!("spawn made the pidfd with the child, or failed");
        };
        let register = || register(pidfd);
        // tokio panics in a runtime without I/O: the child must not outlive
        // that unseen. Its pid is still ours (unreaped), so `discard` may
        // kill and reap it without the pidfd.
        let registered = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(register)) {
            Ok(registered) => registered,
            Err(panic) => {
                spawned.discard();
                std::panic::resume_unwind(panic);
            }
        };
        let pidfd = match registered {
            Ok(pidfd) => pidfd,
            Err((pidfd, err)) => {
                discard(pidfd.as_fd());
                return Err(reactor_error(err));
            }
        };
        let mut child = AsyncExecChild {
            pid,
            state: State::Running(Pidfd::Registered(pidfd)),
            kill_on_drop: false,
            runtime,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        // On an error here `child` is dropped: kill_on_drop makes sure it
        // does not run on unseen, and the reaper task reaps it.
        child.kill_on_drop = true;
        child.stdin = to_tokio(spawned.stdin.take(), ChildStdin::from_std)?;
        child.stdout = to_tokio(spawned.stdout.take(), ChildStdout::from_std)?;
        child.stderr = to_tokio(spawned.stderr.take(), ChildStderr::from_std)?;
        child.kill_on_drop = kill_on_drop;
        Ok(child)
    }

    /// The child's pid, until it is reaped (`None` after), as for
    /// `tokio::process::Child::id`: a reaped child's pid may be reused.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("true").spawn_async()?;
    /// assert!(child.id().is_some());
    /// child.wait().await?;
    /// assert_eq!(child.id(), None);
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> Option<u32> {
        matches!(self.state, State::Running(_)).then_some(self.pid)
    }

    /// The child's pidfd, until it is reaped.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("true").spawn_async()?;
    /// assert!(child.pidfd().is_some());
    /// child.wait().await?;
    /// assert!(child.pidfd().is_none());
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        match &self.state {
            State::Running(pidfd) => Some(pidfd.fd()),
            State::Exited(_) | State::Lost => None,
        }
    }

    /// Whether dropping this handle before the child is reaped kills it
    /// with `SIGKILL` (default: no), as `tokio::process::Command::kill_on_drop`.
    /// The dropped child is reaped either way (see "Dropping" above).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let child = clonekit::Exec::new("sleep").arg("100").spawn_async()?.kill_on_drop(true);
    /// drop(child); // killed now, reaped by a task on this runtime
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kill_on_drop(mut self, kill: bool) -> AsyncExecChild {
        self.kill_on_drop = kill;
        self
    }

    /// Sends `sig` to the child through its pidfd. Does nothing once the
    /// child has been reaped by this handle.
    ///
    /// # Errors
    ///
    /// `Sys { call: "pidfd_send_signal" }`; `errno: ESRCH` once the child
    /// was reaped by the kernel (`SIGCHLD` ignored).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use clonekit::{Exec, Signal};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = Exec::new("sleep").arg("100").spawn_async()?;
    /// child.signal(Signal::SIGTERM)?;
    /// assert_eq!(child.wait().await?.signal(), Some(libc::SIGTERM));
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # References
    /// - [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
    pub fn signal(&mut self, sig: Signal) -> Result<()> {
        match &self.state {
            State::Running(pidfd) => {
                raw::pidfd_send_signal(pidfd.fd(), sig).map_err(Error::sys("pidfd_send_signal"))
            }
            State::Exited(_) => Ok(()),
            State::Lost => Err(Error::sys("pidfd_send_signal")(Errno::ESRCH)),
        }
    }

    /// Sends `SIGKILL` to the child without waiting for it (see
    /// [`signal`](Self::signal)).
    ///
    /// # Errors
    ///
    /// As for [`signal`](Self::signal).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("sleep").arg("100").spawn_async()?;
    /// child.start_kill()?;
    /// let status = child.wait().await?;
    /// assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_kill(&mut self) -> Result<()> {
        self.signal(Signal::SIGKILL)
    }

    /// Sends `SIGKILL` to the child, then waits for it and reaps it.
    ///
    /// # Errors
    ///
    /// As for [`signal`](Self::signal) and [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("sleep").arg("100").spawn_async()?;
    /// child.kill().await?;
    /// assert_eq!(child.try_wait()?.map(|status| status.success()), Some(false));
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn kill(&mut self) -> Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Reaps the child if it has ended, without waiting: `Ok(None)` while
    /// it runs.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("sleep").arg("100").spawn_async()?;
    /// assert!(child.try_wait()?.is_none());
    /// child.kill().await?;
    /// assert!(child.try_wait()?.is_some());
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        let reaped = match &self.state {
            State::Running(pidfd) => reap(pidfd.fd()),
            State::Exited(status) => return Ok(Some(*status)),
            State::Lost => Err(Errno::ECHILD),
        };
        self.record(reaped)
    }

    /// Closes the child's stdin (so that it sees end of file), then waits
    /// for it to end and reaps it: the pidfd's readiness, then
    /// `waitid(P_PIDFD, ..)`. Once reaped, the status is remembered.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a `wait` future dropped before it is done (in a
    /// `tokio::select!`, under a timeout) loses nothing, and `wait` may be
    /// called again.
    ///
    /// # Errors
    ///
    /// - `Sys { call: "waitid", errno: ECHILD }`: the kernel reaped the
    ///   child itself, because the caller ignores `SIGCHLD`, and kept no exit
    ///   on the pidfd (before Linux 6.15; see "`SIGCHLD` ignored" above);
    /// - `Unsupported` (`EINVAL`): the kernel has no `waitid(P_PIDFD)`
    ///   (before Linux 5.4);
    /// - `Sys { call: "epoll_wait" }`: the current runtime is shutting down
    ///   (a reactor that is gone is replaced by the current runtime's, see
    ///   "Another runtime" above);
    /// - `NoRuntime`: the pidfd's reactor is gone and this wait is not
    ///   polled within a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let mut child = clonekit::Exec::new("sleep").arg("100").spawn_async()?;
    /// // Gave up waiting: the future is dropped, the child is still ours.
    /// assert!(tokio::time::timeout(Duration::from_millis(10), child.wait()).await.is_err());
    /// child.start_kill()?;
    /// assert!(!child.wait().await?.success());
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # References
    /// - [waitid(2)](https://man7.org/linux/man-pages/man2/waitid.2.html)
    pub async fn wait(&mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        // The reactor the pidfd was registered with may be gone (the child
        // was spawned in a runtime since dropped): then it is registered
        // with the current runtime once, as tokio's own pidfd reaper does.
        let mut moved = false;
        loop {
            let reaped = match &mut self.state {
                State::Running(Pidfd::Registered(pidfd)) => match reap_when_ready(pidfd).await {
                    Err(WaitError::Reactor(err)) if !moved && is_shutdown(&err) => {
                        moved = true;
                        self.reregister()?;
                        continue;
                    }
                    Err(WaitError::Reactor(err)) => return Err(reactor_error(err)),
                    Err(WaitError::Waitid(errno)) => Err(errno),
                    Ok(status) => Ok(Some(status)),
                },
                State::Running(Pidfd::Unregistered(_)) => {
                    moved = true;
                    self.reregister()?;
                    continue;
                }
                State::Exited(status) => return Ok(*status),
                State::Lost => Err(Errno::ECHILD),
            };
            return match self.record(reaped)? {
                Some(status) => Ok(status),
                None => unreachable!("reap_when_ready returns only once the child is reaped"),
            };
        }
    }

    /// Registers the pidfd (the same fd) with the current runtime's
    /// reactor, in place of the one it was registered with; a dropped
    /// handle's reaper task then runs on the current runtime too. On
    /// failure the pidfd is kept, unregistered, for a later wait to try
    /// again.
    fn reregister(&mut self) -> Result<()> {
        let runtime = Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let State::Running(pidfd) = std::mem::replace(&mut self.state, State::Lost) else {
            unreachable!("only a running child's pidfd is registered");
        };
        match register(pidfd.into_fd()) {
            Ok(registered) => {
                self.state = State::Running(Pidfd::Registered(registered));
                self.runtime = runtime;
                Ok(())
            }
            Err((pidfd, err)) => {
                self.state = State::Running(Pidfd::Unregistered(pidfd));
                Err(reactor_error(err))
            }
        }
    }

    /// Closes stdin, reads stdout and stderr to their ends at once, then
    /// waits for the child and reaps it.
    ///
    /// # Errors
    ///
    /// `Sys { call: "read" }`: the child has been killed with `SIGKILL`
    /// (this handle is gone: the reaper task reaps it); as for
    /// [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use clonekit::{Exec, Stdio};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let child = Exec::new("echo").arg("x").stdout(Stdio::Piped).spawn_async()?;
    /// assert_eq!(child.wait_with_output().await?.stdout, b"x\n");
    /// # Ok::<(), clonekit::Error>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn wait_with_output(mut self) -> Result<Output> {
        drop(self.stdin.take());
        let (mut stdout, mut stderr) = (self.stdout.take(), self.stderr.take());
        let mut bufs = (Vec::new(), Vec::new());
        let read = poll_fn(|cx| {
            let out_done = poll_read_to_end(cx, &mut stdout, &mut bufs.0)?;
            let err_done = poll_read_to_end(cx, &mut stderr, &mut bufs.1)?;
            match out_done && err_done {
                true => Poll::Ready(Ok::<(), io::Error>(())),
                false => Poll::Pending,
            }
        })
        .await;
        if let Err(err) = read {
            // Neither a child running on unseen nor a zombie (the reaper
            // task takes it on drop).
            self.kill_on_drop = true;
            return Err(Error::sys("read")(errno_of(&err)));
        }
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout: bufs.0,
            stderr: bufs.1,
        })
    }

    /// Keeps what a reap found: a status, or `ECHILD` (reaped elsewhere).
    fn record(
        &mut self,
        reaped: std::result::Result<Option<ExitStatus>, Errno>,
    ) -> Result<Option<ExitStatus>> {
        match reaped {
            Ok(Some(status)) => {
                // Closes the pidfd: nothing needs it once the child is reaped.
                self.state = State::Exited(status);
                Ok(Some(status))
            }
            Ok(None) => Ok(None),
            Err(Errno::ECHILD) => {
                self.state = State::Lost;
                Err(Error::sys("waitid")(Errno::ECHILD))
            }
            Err(Errno::EINVAL) => Err(Error::Unsupported {
                feature: "waitid(P_PIDFD) (Linux 5.4)",
                errno: Errno::EINVAL,
            }),
            Err(errno) => Err(Error::sys("waitid")(errno)),
        }
    }
}

impl Drop for AsyncExecChild {
    fn drop(&mut self) {
        let State::Running(pidfd) = std::mem::replace(&mut self.state, State::Lost) else {
            return;
        };
        if self.kill_on_drop {
            let _ = raw::pidfd_send_signal(pidfd.fd(), Signal::SIGKILL);
        }
        if !matches!(reap(pidfd.fd()), Ok(None)) {
            return; // reaped now, or not ours to reap any more
        }
        // Not ended yet: a task reaps it when it ends, so that it leaves no
        // zombie. It runs on the current runtime if there is one (the one
        // the child was spawned in may be gone: a task spawned there would
        // be dropped at once), and registers the pidfd with it afresh.
        let pidfd = pidfd.into_fd();
        let runtime = Handle::try_current().unwrap_or_else(|_| self.runtime.clone());
        runtime.spawn(async move {
            if let Ok(pidfd) = register(pidfd) {
                let _ = reap_when_ready(&pidfd).await;
            }
        });
    }
}

/// A pipe end as tokio's type (`File` or std's `Child*` → `OwnedFd` →
/// std's `Child*` → tokio's), registered with the reactor.
fn to_tokio<End, Std, Tokio>(
    end: Option<End>,
    register: fn(Std) -> io::Result<Tokio>,
) -> Result<Option<Tokio>>
where
    End: Into<OwnedFd>,
    Std: From<OwnedFd>,
{
    end.map(|end| register(Std::from(end.into())).map_err(reactor_error))
        .transpose()
}

/// Reads what `reader` has now into `buf`: `Ok(true)` at end of file (the
/// reader is then closed), `Ok(false)` when it would block.
fn poll_read_to_end<R: AsyncRead + Unpin>(
    cx: &mut Context<'_>,
    reader: &mut Option<R>,
    buf: &mut Vec<u8>,
) -> io::Result<bool> {
    let Some(open) = reader else {
        return Ok(true);
    };
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let mut read = ReadBuf::new(&mut chunk);
        match Pin::new(&mut *open).poll_read(cx, &mut read) {
            Poll::Pending => return Ok(false),
            Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => continue,
            Poll::Ready(Err(err)) => return Err(err),
            Poll::Ready(Ok(())) if read.filled().is_empty() => {
                *reader = None;
                return Ok(true);
            }
            Poll::Ready(Ok(())) => buf.extend_from_slice(read.filled()),
        }
    }
}

/// The reactor refused an fd (`epoll_ctl`), or is shutting down.
fn reactor_error(err: io::Error) -> Error {
    match err.raw_os_error() {
        Some(errno) => Error::sys("epoll_ctl")(Errno::from_raw(errno)),
        None => Error::sys("epoll_wait")(Errno::ESHUTDOWN),
    }
}
