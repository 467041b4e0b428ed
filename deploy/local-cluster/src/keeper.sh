# Runs "$@" as a child in this process group and exits with its status. Started by spawnManaged with a
# parent-death signal of SIGUSR1: if the node agent dies, this kills the whole group, so a pod's
# grandchildren (e.g. `sh -c 'server & worker'`) never outlive it. The group's SIGTERM is meant for the
# command (graceful stop), so here it only interrupts `wait`.
trap 'kill -KILL 0' USR1
trap ':' TERM INT HUP
"$@" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid"
  rc=$?
done
wait "$pid" 2>/dev/null && exit 0
rc2=$?
# 127: already reaped inside the loop, whose last wait returned the real status.
[ "$rc2" = 127 ] && exit "$rc"
exit "$rc2"
