#!/usr/bin/env bash
# A minimal runit: runs a command, and when it dies (a fault killed it) starts it again after a
# second, logging each exit. With --on-failure a clean exit (status 0: an application cluster
# whose job ended) is final, as a Kubernetes Job's restartPolicy OnFailure. Stopping the
# supervisor (SIGTERM to its process group) stops both.
# usage: supervise.sh NAME [--on-failure] -- COMMAND [ARGS...]
name="$1"; shift
on_failure=0; [ "${1:-}" = "--on-failure" ] && { on_failure=1; shift; }
[ "${1:-}" = "--" ] && shift
child=0
trap '[ "$child" -gt 0 ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
while true; do
  "$@" &
  child=$!
  echo "$(date '+%F %T') supervise[$name]: started pid $child"
  wait "$child"
  rc=$?
  if [ "$on_failure" = 1 ] && [ "$rc" = 0 ]; then
    echo "$(date '+%F %T') supervise[$name]: pid $child exited with status 0; done"
    exit 0
  fi
  echo "$(date '+%F %T') supervise[$name]: pid $child exited with status $rc; restarting in 1 s"
  sleep 1
done
