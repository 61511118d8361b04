#!/usr/bin/env bash
# A minimal runit: runs a command, and when it dies (a fault killed it) starts it again, logging
# each exit. As runit's runsv, it first waits a second only when the run lasted under a second
# (a command that cannot start is not restarted in a busy loop). With --on-failure a clean exit
# (status 0: an application cluster whose job ended) is final, as a Kubernetes Job's
# restartPolicy OnFailure. Stopping the supervisor (SIGTERM to its process group) stops both.
# usage: supervise.sh NAME [--on-failure] -- COMMAND [ARGS...]
name="$1"; shift
on_failure=0; [ "${1:-}" = "--on-failure" ] && { on_failure=1; shift; }
[ "${1:-}" = "--" ] && shift
child=0
trap '[ "$child" -gt 0 ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
while true; do
  began=${EPOCHREALTIME:-}
  "$@" &
  child=$!
  echo "$(date '+%F %T') supervise[$name]: started pid $child"
  wait "$child"
  rc=$?
  if [ "$on_failure" = 1 ] && [ "$rc" = 0 ]; then
    echo "$(date '+%F %T') supervise[$name]: pid $child exited with status 0; done"
    exit 0
  fi
  # Microseconds it ran (bash 5's clock; without it, always the wait).
  ran=0
  if [ -n "$began" ]; then now=$EPOCHREALTIME; ran=$(( ${now//[.,]/} - ${began//[.,]/} )); fi
  if [ "$ran" -lt 1000000 ]; then
    echo "$(date '+%F %T') supervise[$name]: pid $child exited with status $rc; restarting in 1 s"
    sleep 1
  else
    echo "$(date '+%F %T') supervise[$name]: pid $child exited with status $rc; restarting"
  fi
done
