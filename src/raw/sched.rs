//! Scheduling and process attributes: affinity, sched_setattr, priority, ioprio, personality, ptrace(PTRACE_TRACEME).
