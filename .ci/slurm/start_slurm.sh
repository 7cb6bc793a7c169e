#!/usr/bin/env bash
# Minimal single-node SLURM (Debian 12 slurm-wlm 22.05) for CI: no cgroups, no slurmdbd.
# SLURM_CI_CPUS: CPUs the node announces (default: nproc). More than the machine has lets
# start-up-bound test jobs overlap (SlurmdParameters=config_overrides keeps the node usable).
set -euo pipefail
STATE=${SLURM_CI_DIR:-/tmp/slurm-ci}
t0=$(date +%s.%N)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
t1=$(date +%s.%N)
mkdir -p "$STATE"/{state,spool} /etc/slurm /run/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=localhost
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
MinJobAge=300
KillWait=5
InactiveLimit=0
Waittime=0
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${SLURM_CI_CPUS:-$(nproc)} RealMemory=$(( $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) * 85 / 100 )) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
chown munge:munge /run/munge
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
runuser -u munge -- /usr/sbin/munged            # daemonizes; pid in /run/munge/munged.pid
for i in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
/usr/sbin/slurmctld                             # daemonizes; pid in $STATE/slurmctld.pid
/usr/sbin/slurmd -N localhost                   # daemonizes; pid in $STATE/slurmd.pid
for i in $(seq 150); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 0.2; done
sinfo -h -o %T | grep -qx idle || { echo "slurm did not come up"; tail -n 20 "$STATE"/*.log; exit 1; }
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN{printf "apt install: %.1fs, daemons up to idle node: %.1fs\n", b-a, c-b}'
