#!/usr/bin/env bash
# The kernel matrix: every test binary of the crate and of verify (the
# workspace's default members, as `cargo test` builds them) and the verify
# binary, run as root inside each kernel of KERNELS, booted under QEMU (TCG),
# on x86_64 (amd64) and, cross-built, on aarch64 (arm64).
#
#   .ci/kernels.sh                 every kernel of the list
#   .ci/kernels.sh 6.1 arm64-7.3   only these
#   .ci/kernels.sh --list          print the list
#   KERNEL_TESTS=rules_differential,rules_context .ci/kernels.sh 5.10
#                                  only these test binaries (by target name;
#                                  `unit-clonekit` for the unit tests,
#                                  `clonekit-verify` for the verify binary)
#
# Per kernel it prints the passed, failed and skipped tests (a test that
# printed `SKIP` is skipped, not passed), the failures with their output and the
# reasons of the skips; then the totals. It exits non-zero when a test failed
# in any kernel or a kernel did not boot or finish.
#
# Downloads, the initramfs and the console logs live under
# $CARGO_TARGET_DIR/kernels (default target/kernels); a kernel already
# downloaded is not downloaded again (remove kernels/kernel/<name> to take
# the suite's newest again).
set -euo pipefail

# The kernels: a name, the Debian architecture, the Debian suite, and the
# package that holds the kernel image (/boot/vmlinuz-*; from 7.x
# linux-binary-* holds it). A `*` stands for one part of the name without a
# `-`; the newest match is taken. Adding a kernel is adding a line.
KERNELS='
5.10       amd64  bullseye-security  linux-image-5.10.0-*-amd64
6.1        amd64  bookworm           linux-image-6.1.0-*-amd64
6.12       amd64  trixie             linux-image-6.12.*-amd64
7.3        amd64  experimental       linux-binary-7.3-amd64
arm64-6.1  arm64  bookworm           linux-image-6.1.0-*-arm64
arm64-7.3  arm64  experimental       linux-binary-7.3-arm64
'

# The userland of a foreign architecture's initramfs: Debian's packages of
# this machine's suite (their libc must be at least the one the cross build
# links against), with everything they depend on.
USERLAND=(libc6 libc-bin dash bash coreutils grep sed strace busybox-static)

# Under TCG a program may be slow: each test binary gets this long, each
# kernel this long in all (boot included). arm64 is emulated more slowly
# (the suite takes about 2.5 times as long as on amd64): its limits are
# scaled by that.
BINARY_TIMEOUT=${BINARY_TIMEOUT:-300}
KERNEL_TIMEOUT=${KERNEL_TIMEOUT:-1200}
# The divisor of the stress tests' iteration counts inside the VM.
STRESS_SCALE=${STRESS_SCALE:-10}

cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$TARGET/kernels
export CARGO_TERM_COLOR=never

say() { printf '%s\n' "$*" >&2; }
die() { say "kernels.sh: $*"; exit 1; }

kernel_lines() { printf '%s\n' "$KERNELS" | awk 'NF == 4'; }

# ---------------------------------------------------------------------------
# What the matrix needs on the host.

REQUIRED_PACKAGES=(qemu-system-x86 busybox-static strace dash bash coreutils grep sed jq binutils)
# The cross build and the VM for arm64: Debian's Rust (rustc-web, the same
# version for both architectures) with the aarch64 standard library.
ARM64_PACKAGES=(qemu-system-arm gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
  rustc-web cargo-web libstd-rust-web-dev:arm64)

# The architectures of the kernels selected (set by main).
ARCHES=()

wants_arch() { [[ " ${ARCHES[*]} " == *" $1 "* ]]; }

install_requirements() {
  local missing=() packages=("${REQUIRED_PACKAGES[@]}")
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  [ -x /bin/busybox ] && file_is_static /bin/busybox || missing+=(busybox-static)
  local tool
  for tool in strace dash bash jq readelf strip; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if wants_arch arm64; then
    packages+=("${ARM64_PACKAGES[@]}")
    for tool in qemu-system-aarch64 aarch64-linux-gnu-gcc aarch64-linux-gnu-strip /usr/bin/cargo /usr/bin/rustc; do
      command -v "$tool" >/dev/null || missing+=("$tool")
    done
    [ -d "$(cross_sysroot)/lib/rustlib/aarch64-unknown-linux-gnu" ] || missing+=(libstd-rust-web-dev:arm64)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "##############################################################"
    say "## kernels.sh: SKIPPED, the kernel matrix did NOT run:"
    say "## missing ${missing[*]}, and this is not root with apt-get."
    say "##############################################################"
    exit 0
  fi
  wants_arch arm64 && dpkg --add-architecture arm64
  say "installing ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
}

# The sysroot of Debian's rustc (not rustup's, which comes first in PATH).
cross_sysroot() { /usr/bin/rustc --print sysroot 2>/dev/null || echo /usr; }

# This machine's Debian suite (bookworm, trixie, ...).
host_suite() { . /etc/os-release && echo "$VERSION_CODENAME"; }

file_is_static() { ! readelf -l "$1" 2>/dev/null | grep -q 'INTERP'; }

# ---------------------------------------------------------------------------
# Kernels: Debian's packages, through a private apt tree per suite (the
# system's sources are read for the mirror, never changed).

# The mirror of the system's Debian sources: `main` (.../debian) or
# `security` (.../debian-security), with the keyring they are signed by.
system_mirror() {
  local want=$1
  local file
  for file in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    if [ -f "$file" ]; then cat "$file" && echo; fi
  done |
    awk -v want="$want" '
      function emit(uri, key) {
        sub(/\/+$/, "", uri)
        kind = uri ~ /\/debian-security$/ ? "security" : uri ~ /\/debian$/ ? "main" : ""
        if (kind == want && !found) { print uri, (key == "" ? "-" : key); found = 1 }
      }
      /^[[:space:]]*#/ { next }
      /^URIs:/ { uri = $2 }
      /^Signed-By:/ { key = $2 }
      /^[[:space:]]*$/ { if (uri != "") emit(uri, key); uri = ""; key = "" }
      /^deb[[:space:]]/ {
        line = $0; key = ""
        if (match(line, /signed-by=[^] ]+/)) key = substr(line, RSTART + 10, RLENGTH - 10)
        gsub(/\[[^]]*\]/, "", line); split(line, f, /[[:space:]]+/)
        emit(f[2], key); key = ""
      }
      END { if (uri != "") emit(uri, key) }'
}

# Fills APT_OPTS with the options of the private apt tree of suite $1 and
# Debian architecture $2, writing its sources list first.
private_apt() {
  local suite=$1 arch=$2 dir=$WORK/apt/$1-$2 kind=main line uri key
  case $suite in *-security) kind=security ;; esac
  line=$(system_mirror "$kind")
  if [ -z "$line" ] && [ "$kind" = security ]; then
    line=$(system_mirror main | sed 's#\(/debian\) #\1-security #')
  fi
  [ -n "$line" ] || die "no Debian mirror in the system's apt sources"
  read -r uri key <<<"$line"
  [ "$key" != - ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$dir/sources.list.d" "$dir/lists/partial" "$dir/cache/archives/partial"
  echo "deb [signed-by=$key] $uri $suite main" >"$dir/sources.list"
  APT_OPTS=(
    -o "Dir::Etc::SourceParts=$dir/sources.list.d" -o "Dir::Etc::SourceList=$dir/sources.list"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
    # What this machine has installed is not a candidate.
    -o Dir::State::status=/dev/null
    -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
    -o APT::Sandbox::User=root -o Acquire::Languages=none
    -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false
  )
}

# The newest package of the private lists whose name matches the pattern.
newest_package() {
  local pattern=$1 regex
  regex=$(printf '%s' "$pattern" | sed 's/[.+]/\\&/g; s/\*/[^-]+/g')
  apt-cache "${APT_OPTS[@]}" pkgnames "${pattern%%\**}" | grep -E "^$regex\$" | sort -V | tail -n 1
}

# Downloads kernel $1 (architecture $2, suite $3, package pattern $4) once:
# leaves $WORK/kernel/$1/vmlinuz and its Debian version in .../version.
fetch_kernel() {
  local name=$1 arch=$2 suite=$3 pattern=$4 dir=$WORK/kernel/$1 package
  if [ -s "$dir/vmlinuz" ] && [ -s "$dir/version" ]; then return 0; fi
  say "kernel $name: downloading from $suite ($arch)"
  private_apt "$suite" "$arch"
  apt-get "${APT_OPTS[@]}" -qq update
  package=$(newest_package "$pattern")
  [ -n "$package" ] || die "kernel $name: no package matches $pattern in $suite"
  rm -rf "$dir" && mkdir -p "$dir/deb"
  (cd "$dir/deb" && apt-get "${APT_OPTS[@]}" -qq download "$package")
  local deb image
  deb=$(ls "$dir"/deb/*.deb)
  # /boot/vmlinuz-<version>; from 7.x, /usr/lib/modules/<version>/vmlinuz.
  image=$(dpkg-deb --fsys-tarfile "$deb" | tar -t |
    grep -E '^\./(boot/vmlinuz-|usr/lib/modules/[^/]+/vmlinuz$)' | head -n 1) || true
  [ -n "$image" ] || die "kernel $name: no vmlinuz in $package"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -O "$image" >"$dir/vmlinuz"
  echo "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)" >"$dir/version"
  rm -rf "$dir/deb"
}

# ---------------------------------------------------------------------------
# The initramfs, one per architecture, shared by its kernels.

# Where the initramfs of architecture $1 is staged, and the archive.
stage_of() { echo "$WORK/initramfs-$1.d"; }
initramfs_of() { echo "$WORK/initramfs-$1.cpio"; }
# The one being built (set by build_initramfs).
STAGE=

# Copies the file $1 to the same path in the initramfs (symlinks resolved).
stage_file() {
  mkdir -p "$STAGE$(dirname "$1")"
  cp -L "$1" "$STAGE$1"
}

# Copies the program $1 and every shared library it loads.
stage_program() {
  local program=$1 lib
  stage_file "$program"
  file_is_static "$program" && return 0
  for lib in $(ldd "$program" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -e "$STAGE$lib" ] || stage_file "$lib"
  done
}

# The test targets declared with `harness = false`, from the manifests.
harnessless_tests() {
  awk '
    /^\[/ { if (test && harness == "false") print name; test = ($0 == "[[test]]"); name = ""; harness = "" }
    test && /^name *=/ { name = $3; gsub(/"/, "", name) }
    test && /^harness *=/ { harness = $3 }
    END { if (test && harness == "false") print name }' Cargo.toml verify/Cargo.toml
}

# Builds the test binaries and the verify binary for architecture $1 (arm64
# cross-built with Debian's Rust, warnings denied); stages each under /tests
# with a name that says what it is (`unit-<crate>` for unit tests) and a
# `.plain` suffix for the programs without the harness.
stage_tests() {
  local arch=$1 plain name kind exe
  say "building the test binaries (release, $arch)"
  # The default members (the crate and verify), as the README's `cargo test`:
  # the bench member has no tests, and would only build criterion here.
  build_for "$arch" test --features tokio --release --no-run >"$WORK/tests-$arch.json"
  build_for "$arch" build --release -p clonekit-verify >"$WORK/verify-$arch.json"
  plain=" $(harnessless_tests | tr '\n' ' ') "
  mkdir -p "$STAGE/tests"
  jq -r 'select(.reason == "compiler-artifact" and .executable != null and .profile.test)
         | [.target.name, .target.kind[0], .executable] | @tsv' "$WORK/tests-$arch.json" |
    while IFS=$'\t' read -r name kind exe; do
      case $kind in test) ;; *) name=unit-$name ;; esac
      wanted_test "$name" || continue
      case $plain in *" $name "*) name=$name.plain ;; esac
      strip_into "$arch" "$exe" "$STAGE/tests/$name"
    done
  if wanted_test clonekit-verify; then
    exe=$(jq -r 'select(.reason == "compiler-artifact" and .target.kind[0] == "bin"
                  and .target.name == "clonekit-verify") | .executable' "$WORK/verify-$arch.json")
    strip_into "$arch" "$exe" "$STAGE/tests/clonekit-verify.plain"
  fi
  [ -n "$(ls "$STAGE/tests")" ] || die "no test binary matches KERNEL_TESTS=$KERNEL_TESTS"
}

# Whether the test binary $1 is to run: every one, or those KERNEL_TESTS names.
wanted_test() {
  [ -z "${KERNEL_TESTS:-}" ] || [[ ",$KERNEL_TESTS," == *",$1,"* ]]
}

# `cargo "$@"` for architecture $1, its JSON messages on stdout: amd64 with
# this machine's toolchain, arm64 with Debian's Rust in its own target dir.
build_for() {
  local arch=$1
  shift
  case $arch in
    amd64) cargo "$@" --message-format=json-render-diagnostics ;;
    arm64)
      CARGO_TARGET_DIR=$TARGET/cross RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTFLAGS="-D warnings" \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        /usr/bin/cargo "$@" --target aarch64-unknown-linux-gnu --message-format=json-render-diagnostics
      ;;
    *) die "no build for architecture $arch" ;;
  esac
}

# A copy of the binary $2 (architecture $1) at $3 without its debug info
# (smaller to load), with the libraries it loads (amd64; a foreign
# userland brings its own).
strip_into() {
  local arch=$1 lib
  case $arch in
    amd64) strip --strip-debug -o "$3" "$2" ;;
    arm64) aarch64-linux-gnu-strip --strip-debug -o "$3" "$2" ;;
  esac
  [ "$arch" = amd64 ] || return 0
  for lib in $(ldd "$2" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -e "$STAGE$lib" ] || stage_file "$lib"
  done
}

# The userland the tests run (dash as sh, bash, coreutils, grep, sed,
# strace, ldd) and busybox for what /init needs (mount, poweroff): this
# machine's programs for amd64.
stage_host_userland() {
  local program
  for program in $(dpkg -L coreutils | grep -E '^/(usr/)?s?bin/') \
    /usr/bin/dash /usr/bin/bash /usr/bin/grep /usr/bin/sed /usr/bin/ldd "$(command -v strace)"; do
    stage_program "$program"
  done
  cp /bin/busybox "$STAGE/usr/sbin/busybox"
}

# The same for a foreign architecture $1: USERLAND and what it depends on,
# downloaded once from this machine's suite and unpacked, its /bin, /sbin
# and /lib merged into /usr as on the amd64 initramfs.
stage_foreign_userland() {
  local arch=$1 dir=$WORK/userland/$1
  # The list unpacked is kept: a changed list is downloaded again.
  if [ "$(cat "$dir/unpacked" 2>/dev/null)" != "${USERLAND[*]}" ]; then
    say "userland $arch: downloading ${USERLAND[*]} and their dependencies"
    private_apt "$(host_suite)" "$arch"
    apt-get "${APT_OPTS[@]}" -qq update
    rm -rf "$dir" && mkdir -p "$dir/deb" "$dir/root"
    local packages deb
    packages=$(apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests \
      --no-conflicts --no-breaks --no-replaces --no-enhances "${USERLAND[@]}" | grep -E '^[a-z0-9]' | sort -u)
    # shellcheck disable=SC2086
    (cd "$dir/deb" && apt-get "${APT_OPTS[@]}" -qq download $packages)
    for deb in "$dir"/deb/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
    rm -rf "$dir/deb" && echo "${USERLAND[*]}" >"$dir/unpacked"
  fi
  local top
  for top in bin sbin lib; do
    if [ -d "$dir/root/$top" ] && [ ! -L "$dir/root/$top" ]; then cp -a "$dir/root/$top/." "$STAGE/usr/$top/"; fi
  done
  cp -a "$dir/root/usr/." "$STAGE/usr/"
  cp "$STAGE/usr/bin/busybox" "$STAGE/usr/sbin/busybox"
}

# Builds the initramfs of architecture $1.
build_initramfs() {
  local arch=$1 initramfs
  STAGE=$(stage_of "$arch")
  initramfs=$(initramfs_of "$arch")
  rm -rf "$STAGE" && mkdir -p "$STAGE"/{usr/bin,usr/sbin,usr/lib,usr/lib64,proc,sys,dev,tmp,root,etc}
  local link
  for link in bin sbin lib lib64; do ln -s "usr/$link" "$STAGE/$link"; done
  stage_tests "$arch"
  case $arch in
    amd64) stage_host_userland ;;
    *) stage_foreign_userland "$arch" ;;
  esac
  ln -sf dash "$STAGE/usr/bin/sh"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$STAGE/etc/passwd"
  echo 'root:x:0:' >"$STAGE/etc/group"
  write_init "$(scaled "$arch" "$BINARY_TIMEOUT")" >"$STAGE/init"
  chmod +x "$STAGE/init"
  (cd "$STAGE" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc >"$initramfs" 2>/dev/null)
  say "initramfs ($arch): $(du -m "$initramfs" | cut -f1) MiB"
}

# The VM's /init: mounts what the tests need, runs every binary under
# `timeout` (of $1 seconds) with a marker before and after it, and powers off.
write_init() {
  local binary_timeout=$1
  cat <<EOF
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp CLONEKIT_STRESS_SCALE=$STRESS_SCALE
bb=/usr/sbin/busybox
up() { read -r seconds _ </proc/uptime; echo "\$seconds"; }
\$bb mount -t proc proc /proc
\$bb mount -t sysfs sys /sys
\$bb mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
\$bb mount -t devpts devpts /dev/pts
\$bb mount -t tmpfs tmp /tmp
\$bb mount -t tmpfs shm /dev/shm
\$bb mount -t cgroup2 cgroup2 /sys/fs/cgroup
\$bb hostname matrix
echo "@@ clonekit-matrix init \$(up) \$(cat /proc/sys/kernel/osrelease)"
mkdir -p /tmp/work && cd /tmp/work
for test in /tests/*; do
  name=\${test##*/}
  case \$name in
    *.plain) args= ;;
    *) args="--test-threads=2 --show-output" ;;
  esac
  echo "@@ clonekit-matrix start \$name \$(up)"
  timeout -k 5 $binary_timeout "\$test" \$args </dev/null 2>&1
  status=\$?
  echo
  echo "@@ clonekit-matrix end \$name \$status \$(up)"
done
echo "@@ clonekit-matrix done \$(up)"
\$bb poweroff -f
EOF
}

# ---------------------------------------------------------------------------
# Booting, and reading the console.

# A time limit of $2 seconds scaled for architecture $1.
scaled() {
  case $1 in
    arm64) echo $(($2 * 5 / 2)) ;;
    *) echo "$2" ;;
  esac
}

# Boots kernel $2 of architecture $1 with its initramfs, the console in $3.
# arm64: the `virt` machine with every feature QEMU emulates, pointer
# authentication and BTI included.
boot() {
  local arch=$1 vmlinuz=$2 log=$3 machine
  case $arch in
    amd64) machine=(qemu-system-x86_64 -cpu max -append "console=ttyS0 panic=-1 quiet") ;;
    arm64) machine=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on -append "console=ttyAMA0 panic=-1 quiet") ;;
  esac
  timeout -k 10 "$(scaled "$arch" "$KERNEL_TIMEOUT")" "${machine[@]}" -accel tcg,thread=multi -smp 2 -m 2G \
    -nographic -no-reboot -kernel "$vmlinuz" -initrd "$(initramfs_of "$arch")" </dev/null >"$log" 2>&1 || true
}

# Reads a console log; prints `boot <s>`, `count <passed> <failed> <skipped>`,
# `done <yes|no>`, then `FAIL <binary>: <what>`, `SKIP <binary>: <reason>`
# and `OUT <line>` (a failure's output) lines.
parse_log() {
  # A marker may follow the firmware's escape sequences on its line.
  tr -d '\r' <"$1" | sed 's/^.*\(@@ clonekit-matrix \)/\1/' | awk '
    function reset() {
      passed = failed = skipped = whole_skips = results = oks = fails = summary = 0
      nskip = nfail = nlast = 0; infail = ""
      split("", failing); split("", out); split("", outlines)
    }
    function fail(what) { fails_list[++nfail] = what }
    # The output of a failed test, its first lines.
    function keep(test, line) {
      if (++outlines[test] <= 25) out[test] = out[test] "OUT " line "\n"
    }
    function finish(status,   why, i) {
      if (plain) {
        if (summary) { passed = s_passed; failed = s_failed; skipped = s_skipped == "" ? nskip : s_skipped }
        else if (oks + fails + nskip > 0) { passed = oks; failed = fails; skipped = nskip }
        else { passed = status == 0; failed = status != 0; skipped = 0 }
      } else {
        skipped = nskip
        passed -= whole_skips; if (passed < 0) passed = 0
        if (!results) { failed++; fail("no test result") }
      }
      why = status == "" ? "did not finish (the VM ended)" : status == 124 ? "timed out" : \
            status >= 128 ? "killed by signal " (status - 128) : status != 0 ? "exit status " status : ""
      # A crash or a timeout is a failure even when no test said so.
      if (why != "" && failed == 0) { failed = 1; fail(why) }
      else if (why != "" && status != 101 && status != 1) fail(why)
      for (i = 1; i <= nfail; i++) {
        print "FAIL " binary ": " fails_list[i]
        if (fails_list[i] in out) printf "%s", out[fails_list[i]]
      }
      # Without a test to blame, the last lines the program printed.
      if (nfail > 0 && (plain || !results))
        for (i = nlast - 9; i <= nlast; i++) if (i >= 1) print "OUT " last[i % 10]
      for (i = 1; i <= nskip; i++) print "SKIP " binary ": " skips[i]
      total_p += passed; total_f += failed; total_s += skipped
      binary = ""
    }
    /^@@ clonekit-matrix init / { boot = $4; next }
    /^@@ clonekit-matrix start / { reset(); binary = $4; plain = binary ~ /\.plain$/; next }
    /^@@ clonekit-matrix end / { finish($5); next }
    /^@@ clonekit-matrix done/ { done = 1; next }
    binary == "" { next }
    { last[++nlast % 10] = $0 }
    # The output of a failed libtest test: from `---- <test> stdout ----` to
    # the next such line or the list of failures.
    /^---- .* stdout ----$/ { infail = ($2 in failing) ? $2 : ""; next }
    /^failures:$/ { infail = "" }
    infail != "" && NF { keep(infail, $0) }
    match($0, /SKIP [^ ].*/) {
      text = substr($0, RSTART + 5); skips[++nskip] = text
      if (text !~ /^[^ ]+ \(/) whole_skips++
    }
    # clonekit-verify: a skipped row, with the reason under it.
    plain && /^ +skipped: / {
      r = $0; sub(/^ +skipped: /, "", r); split(prev, cell, /  +/)
      skips[++nskip] = cell[2] " " cell[3] " (" cell[4] "): " r
    }
    !plain && /^test result: / {
      results = 1
      for (i = 1; i < NF; i++) {
        if ($(i + 1) ~ /^passed/) passed += $i
        if ($(i + 1) ~ /^failed/) failed += $i
      }
    }
    !plain && /^test .* \.\.\. FAILED$/ { failing[$2] = 1; fail($2) }
    plain && (/ \.\.\. ok$/ || /^PASS /) { oks++ }
    plain && (/ \.\.\. FAILED/ || /^FAIL /) { fails++; fail($0) }
    plain && match($0, /[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/) {
      split(substr($0, RSTART), n, /[ ,]+/); summary = 1
      s_passed = n[1]; s_failed = n[3]; s_skipped = n[5]
    }
    { prev = $0 }
    END {
      if (binary != "") finish("")
      print "boot " (boot == "" ? "-" : boot)
      print "count " total_p + 0, total_f + 0, total_s + 0
      print "done " (done ? "yes" : "no")
    }'
}

# Boots kernel $1 (architecture $2) and reports what ran in it.
run_kernel() {
  local name=$1 arch=$2 log=$WORK/logs/$1.log start elapsed parsed version
  version=$(cat "$WORK/kernel/$name/version")
  say "kernel $name ($version): booting"
  start=$SECONDS
  boot "$arch" "$WORK/kernel/$name/vmlinuz" "$log"
  parsed=$(parse_log "$log")
  local boot_s passed failed skipped finished
  boot_s=$(awk '$1 == "boot" { print $2 }' <<<"$parsed")
  if [ "$boot_s" = - ]; then
    # The kernel died before /init ran (seen once with an -rc kernel under
    # TCG: a panic in early timer code): no test ran, so boot it once more.
    # A second failure counts.
    mv "$log" "$log.first-boot"
    say "    kernel $name did not reach /init; booting it again (first console: $log.first-boot)"
    boot "$arch" "$WORK/kernel/$name/vmlinuz" "$log"
    parsed=$(parse_log "$log")
    boot_s=$(awk '$1 == "boot" { print $2 }' <<<"$parsed")
  fi
  elapsed=$((SECONDS - start))
  read -r passed failed skipped < <(awk '$1 == "count" { print $2, $3, $4 }' <<<"$parsed")
  finished=$(awk '$1 == "done" { print $2 }' <<<"$parsed")
  grep -E '^(FAIL|OUT) ' <<<"$parsed" | sed 's/^OUT /      | /; s/^FAIL/    FAIL/' || true
  grep -E '^SKIP ' <<<"$parsed" | sed 's/^/    /' || true
  if [ "$finished" != yes ]; then
    [ "$boot_s" = - ] && echo "    kernel $name did not boot; the console's last lines:" ||
      echo "    kernel $name did not finish; the console's last lines:"
    tail -n 15 "$log" | tr -d '\r' | sed 's/^/      | /'
    failed=$((failed + 1))
  fi
  echo "    boot ${boot_s} s, log $log"
  echo "kernel $name (Debian ${version#* }): $passed passed, $failed failed, $skipped skipped, $elapsed s"
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  TOTAL_SKIPPED=$((TOTAL_SKIPPED + skipped))
}

# ---------------------------------------------------------------------------

main() {
  if [ "${1:-}" = --list ]; then
    kernel_lines
    return 0
  fi
  local wanted=("$@") selected=() name arch suite pattern
  while read -r name arch suite pattern; do
    if [ ${#wanted[@]} -eq 0 ] || [[ " ${wanted[*]} " == *" $name "* ]]; then
      selected+=("$name $arch $suite $pattern")
      wants_arch "$arch" || ARCHES+=("$arch")
    fi
  done < <(kernel_lines)
  local known
  for name in "${wanted[@]}"; do
    known=$(kernel_lines | awk -v n="$name" '$1 == n')
    [ -n "$known" ] || die "no kernel $name in the list (see --list)"
  done

  install_requirements
  local matrix_start=$SECONDS
  mkdir -p "$WORK/logs"
  local line
  for line in "${selected[@]}"; do
    # shellcheck disable=SC2086
    fetch_kernel $line
  done
  for arch in "${ARCHES[@]}"; do build_initramfs "$arch"; done
  TOTAL_PASSED=0 TOTAL_FAILED=0 TOTAL_SKIPPED=0
  for line in "${selected[@]}"; do
    # shellcheck disable=SC2086
    run_kernel $line
  done
  echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
  echo "matrix wall time: $((SECONDS - matrix_start)) s"
  [ "$TOTAL_FAILED" -eq 0 ]
}

main "$@"
