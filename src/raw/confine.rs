//! seccomp and Landlock: installing a filter program, landlock_restrict_self and the ruleset calls.
