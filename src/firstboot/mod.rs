//! First boot: a flashed robot provisions itself. A systemd unit (`jetdoc-provision.service`,
//! [`unit`]) runs `jetdoc provision PROFILE --yes --locked LOCK` (or `--bundle` on a robot
//! without network) after the network and Docker are up, until it succeeds: systemd restarts it
//! on failure, `first-boot backoff` spaces the attempts out, and every boot tries again.
//! `first-boot record` keeps each attempt in the state file and, after a success, writes the
//! marker the unit's `ConditionPathExists=!` checks, so it never runs again ([`record`]).
//!
//! Two installers put it in place: `./install.sh --first-boot PROFILE [--destdir DIR]` (shell,
//! for a running system or a staging tree) and `jetdoc first-boot install PROFILE --root DIR`
//! ([`install`]: a mounted SD card or rootfs, through the one executor, with `--dry-run` and
//! undo). Both write the same files: the unit from the same template, at
//! `/etc/systemd/system/`, enabled by a link in `multi-user.target.wants/`, the lock in
//! `/etc/jetdoc/`, the binary in `PREFIX/bin`. `first-boot status` reads it all back ([`status`]).

pub mod install;
pub mod record;
pub mod status;
pub mod unit;
