#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for the test suite's --dask slurm test.
#
# Installs Debian's slurm-wlm and munge when missing (apt-get update once), writes a minimal
# slurm.conf for this host with cgroups off (process tracking by /proc, no task plugin), and starts
# munged, slurmctld and slurmd unless they are running. Idempotent: running it again only checks.
# Needs root. Exits 0 once `sinfo` shows the node ready, non-zero (with the reason) otherwise.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-slurm: needs root" >&2
    exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# munge: one key, its own user, its socket folder.
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
if ! munge -n </dev/null >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
fi

# slurm.conf: this host only; the node line comes from slurmd's own view of the hardware.
host="$(hostname -s)"
node="$(slurmd -C | head -n 1)"
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
conf=/etc/slurm/slurm.conf
want="$(cat <<CONF
# written by featlearn's scripts/setup-slurm.sh
ClusterName=featlearn
SlurmctldHost=${host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmdTimeout=30
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
${node} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
)"
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
    printf '%s\n' "$want" > "$conf"
    # a changed configuration needs restarted daemons (stopped by their pid files)
    for pidfile in /run/slurmctld.pid /run/slurmd.pid; do
        if [ -s "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    sleep 1
fi
rm -f /etc/slurm/cgroup.conf  # default: autodetect; no cgroup plugin is used above

running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/slurmctld.pid || slurmctld
running /run/slurmd.pid || slurmd

for _ in $(seq 60); do
    state="$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)"
    case "$state" in
        idle|mixed|allocated|completing) echo "setup-slurm: node ${host} is ${state}"; exit 0 ;;
        down*|drain*) scontrol update nodename="${host}" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
done
echo "setup-slurm: the node never became ready; see /var/log/slurm/" >&2
exit 1
