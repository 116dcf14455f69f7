#!/usr/bin/env bash
# Start a one-node Slurm cluster WITH accounting on this machine, for the Slurm backend tests
# (test/slurm-backend.test.ts) and local development. Debian/Ubuntu, no systemd: the daemons are
# started directly. Idempotent: when everything already runs it only checks, in about a second.
#
#   munged -> MariaDB (only started/installed when none runs) -> slurmdbd -> sacctmgr add cluster
#   -> slurmctld -> slurmd -N localhost -> wait for an idle node and a working sacct.
#
# Partitions: debug (default) and batch, both on the one node "localhost".
# Environment: CCAT_SLURM_CLUSTER (default ccat), CCAT_SLURM_WAIT (seconds, default 90).
set -euo pipefail

cluster="${CCAT_SLURM_CLUSTER:-ccat}"
wait_seconds="${CCAT_SLURM_WAIT:-90}"
conf_dir=/etc/slurm
slurm_conf="$conf_dir/slurm.conf"
dbd_conf="$conf_dir/slurmdbd.conf"
log_dir=/var/log/slurm
run_dir=/run/slurm
db_name=slurm_acct_db
db_user=slurm

say() { echo "slurm-up: $*"; }
die() {
  echo "slurm-up: ERROR: $*" >&2
  exit 1
}
# Print the end of a log file to stderr (after a failed start).
show_log() {
  if [[ -f "$1" ]]; then
    echo "---- last lines of $1 ----" >&2
    tail -n 20 "$1" >&2 || true
    echo "----" >&2
  fi
}

if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo -n -E bash "$0" "$@"
  fi
  die "must run as root (or with password-less sudo)"
fi

# ---------------------------------------------------------------- packages
installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]; }
mariadb_running() {
  if command -v pgrep >/dev/null; then
    pgrep -x mariadbd >/dev/null || pgrep -x mysqld >/dev/null
  else
    [[ -S /run/mysqld/mysqld.sock ]]
  fi
}

missing=()
for p in munge slurm-client slurmctld slurmd slurmdbd; do
  installed "$p" || missing+=("$p")
done
command -v pgrep >/dev/null || missing+=(procps)
if ! mariadb_running && ! installed mariadb-server; then
  missing+=(mariadb-server)
fi
if ((${#missing[@]} > 0)); then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || die "apt-get update failed"
  # Package scripts may try to start services; without systemd that fails harmlessly.
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/slurm-up-apt.log 2>&1 ||
    {
      tail -n 30 /tmp/slurm-up-apt.log >&2
      die "apt-get install ${missing[*]} failed (log: /tmp/slurm-up-apt.log)"
    }
fi
for b in munged slurmctld slurmd slurmdbd sinfo sacct sacctmgr scontrol sbatch; do
  command -v "$b" >/dev/null || die "$b not found after installing the Slurm packages"
done
id slurm >/dev/null 2>&1 || die "user slurm is missing (the slurm packages create it)"

# ---------------------------------------------------------------- folders
mkdir -p "$conf_dir" "$log_dir" "$run_dir" /var/spool/slurmctld /var/spool/slurmd /run/munge
chown slurm:slurm "$log_dir" "$run_dir" /var/spool/slurmctld
chown munge:munge /run/munge

# ---------------------------------------------------------------- munge
if [[ ! -s /etc/munge/munge.key ]]; then
  say "creating /etc/munge/munge.key"
  mkdir -p /etc/munge
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile=/etc/munge/munge.key --force
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
if ! pgrep -x munged >/dev/null; then
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 2>&1 || {
    show_log /var/log/munge/munged.log
    die "munged did not start"
  }
fi
for _ in $(seq 1 50); do
  munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
  sleep 0.1
done
munge -n </dev/null | unmunge >/dev/null 2>&1 || die "munge does not work (munge -n | unmunge fails)"

# ---------------------------------------------------------------- MariaDB
if ! mariadb_running; then
  say "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  setsid /usr/bin/mysqld_safe </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 "$wait_seconds"); do
    mariadb-admin ping >/dev/null 2>&1 && break
    sleep 1
  done
fi
mariadb-admin ping >/dev/null 2>&1 || die "MariaDB does not answer (mariadb-admin ping)"

# ---------------------------------------------------------------- configuration
# Real hardware from slurmd -C; RealMemory a bit below what it reports (overstating drains the node).
hw="$(slurmd -C 2>/dev/null | head -n 1)" || true
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$hw"; }
cpus="$(field CPUs)"
sockets="$(field SocketsPerBoard)"
cores="$(field CoresPerSocket)"
threads="$(field ThreadsPerCore)"
mem="$(field RealMemory)"
[[ -n "$cpus" && -n "$mem" ]] || die "cannot read CPUs/RealMemory from 'slurmd -C' (got: $hw)"
real_memory=$((mem * 9 / 10))
((mem - real_memory <= 2048)) || real_memory=$((mem - 2048))
topology=""
[[ -n "$sockets" && -n "$cores" && -n "$threads" ]] &&
  ((sockets * cores * threads == cpus)) &&
  topology=" SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads"

desired_conf="# Written by ccat scripts/slurm-up.sh: a one-node cluster with accounting.
ClusterName=$cluster
SlurmctldHost=localhost
SlurmUser=slurm
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Schedule batch jobs at once (default: up to 3 s later): 50 short jobs take 25 s, not 55 s.
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MinJobAge=300
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$run_dir/slurmctld.pid
SlurmdPidFile=$run_dir/slurmd.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
JobCompType=jobcomp/filetxt
JobCompLoc=$log_dir/jobcomp.log
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
EnforcePartLimits=ALL
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
# Keep job comments in accounting: ccat adopts a job found by name after a crash only if its
# comment names this database's installation, run and attempt (also once it left the queue).
AccountingStoreFlags=job_comment
NodeName=localhost NodeHostname=$(hostname -s) CPUs=$cpus$topology RealMemory=$real_memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=batch Nodes=localhost Default=NO MaxTime=INFINITE State=UP
"

conf_changed=0
if [[ ! -f "$slurm_conf" ]] || [[ "$(cat "$slurm_conf")" != "${desired_conf%$'\n'}" ]]; then
  if [[ -f "$slurm_conf" ]] && ! grep -q 'ccat scripts/slurm-up.sh' "$slurm_conf"; then
    cp -p "$slurm_conf" "$slurm_conf.before-ccat"
    say "kept the previous $slurm_conf as $slurm_conf.before-ccat"
  fi
  say "writing $slurm_conf (CPUs=$cpus RealMemory=$real_memory of $mem MB)"
  printf '%s' "$desired_conf" >"$slurm_conf"
  chmod 644 "$slurm_conf"
  conf_changed=1
fi

# slurmdbd.conf keeps its password across runs; a new one is made only when there is none.
db_pass="$(sed -n 's/^StoragePass=//p' "$dbd_conf" 2>/dev/null | head -n 1)" || true
[[ -n "$db_pass" ]] || db_pass="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
desired_dbd="# Written by ccat scripts/slurm-up.sh.
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
LogFile=$log_dir/slurmdbd.log
PidFile=$run_dir/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$db_user
StoragePass=$db_pass
StorageLoc=$db_name
"
dbd_changed=0
if [[ ! -f "$dbd_conf" ]] || [[ "$(cat "$dbd_conf")" != "${desired_dbd%$'\n'}" ]]; then
  say "writing $dbd_conf (mode 600, owner slurm)"
  (umask 077 && printf '%s' "$desired_dbd" >"$dbd_conf")
  dbd_changed=1
fi
chown slurm:slurm "$dbd_conf"
chmod 600 "$dbd_conf"

# ---------------------------------------------------------------- accounting database
if ((dbd_changed)) || ! pgrep -x slurmdbd >/dev/null; then
  say "ensuring database $db_name and user $db_user in MariaDB"
  mariadb --batch <<SQL || die "cannot set up $db_name in MariaDB (does root reach it through the socket?)"
CREATE DATABASE IF NOT EXISTS $db_name;
CREATE USER IF NOT EXISTS '$db_user'@'localhost' IDENTIFIED BY '$db_pass';
ALTER USER '$db_user'@'localhost' IDENTIFIED BY '$db_pass';
GRANT ALL ON $db_name.* TO '$db_user'@'localhost';
FLUSH PRIVILEGES;
SQL
fi

# ---------------------------------------------------------------- daemons
# Stop a daemon by the pid in its pid file (only ours), waiting until it is gone.
stop_daemon() {
  local name="$1" pidfile="$run_dir/$1.pid" pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  # A pid file left from before a reboot may name another process: only trust it if it is $name.
  if [[ -z "$pid" || "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != "$name" ]]; then
    pid="$(pgrep -x "$name" | head -n 1 || true)"
  fi
  [[ -n "$pid" ]] || return 0
  say "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}
start_daemon() {
  local name="$1"
  shift
  say "starting $name"
  "$@" </dev/null >>"$log_dir/$name.start.log" 2>&1 || {
    show_log "$log_dir/$name.start.log"
    show_log "$log_dir/$name.log"
    die "$name did not start"
  }
  for _ in $(seq 1 50); do
    pgrep -x "$name" >/dev/null && return 0
    sleep 0.1
  done
  show_log "$log_dir/$name.start.log"
  show_log "$log_dir/$name.log"
  die "$name exited right after starting"
}

if ((dbd_changed)) && pgrep -x slurmdbd >/dev/null; then stop_daemon slurmdbd; fi
if ! pgrep -x slurmdbd >/dev/null; then
  start_daemon slurmdbd slurmdbd
fi
# slurmdbd answers once it has connected to MariaDB (and created its tables on the first start).
ok=0
for _ in $(seq 1 $((wait_seconds * 2))); do
  if sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1; then
    ok=1
    break
  fi
  sleep 0.5
done
((ok)) || {
  show_log "$log_dir/slurmdbd.log"
  die "slurmdbd does not answer (sacctmgr list cluster fails)"
}
if ! sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx "$cluster"; then
  say "adding cluster $cluster to the accounting database"
  sacctmgr -i add cluster "$cluster" >/dev/null || die "sacctmgr add cluster $cluster failed"
  conf_changed=1 # slurmctld must (re)register with the new cluster
fi

if ((conf_changed)); then
  pgrep -x slurmd >/dev/null && stop_daemon slurmd
  pgrep -x slurmctld >/dev/null && stop_daemon slurmctld
fi
if ! pgrep -x slurmctld >/dev/null; then
  start_daemon slurmctld slurmctld
fi
if ! pgrep -x slurmd >/dev/null; then
  start_daemon slurmd slurmd -N localhost
fi

# ---------------------------------------------------------------- wait for a usable node
node_state() { sinfo -h -n localhost -o '%T' 2>/dev/null | head -n 1; }
resumed=0
state=""
for _ in $(seq 1 $((wait_seconds * 2))); do
  state="$(node_state)"
  case "$state" in
  idle | mixed | allocated | completing) break ;;
  *drain* | *down* | *fail*)
    if ((!resumed)); then
      reason="$(sinfo -h -n localhost -o '%E' 2>/dev/null | head -n 1)"
      say "node localhost is $state ($reason): resuming it"
      scontrol update nodename=localhost state=resume || true
      resumed=1
    fi
    ;;
  esac
  sleep 0.5
done
case "$state" in
idle | mixed | allocated | completing) ;;
*)
  show_log "$log_dir/slurmctld.log"
  show_log "$log_dir/slurmd.log"
  die "node localhost is not usable after ${wait_seconds}s (sinfo state: '${state:-no answer}')"
  ;;
esac

ok=0
for _ in $(seq 1 $((wait_seconds * 2))); do
  if sacct -n -X -S now-1minutes -o JobID >/dev/null 2>&1; then
    ok=1
    break
  fi
  sleep 0.5
done
((ok)) || {
  sacct -n -X -S now-1minutes -o JobID >&2 || true
  show_log "$log_dir/slurmctld.log"
  die "sacct does not work (accounting through slurmdbd)"
}

say "ready: cluster $cluster, node localhost $state, partitions: $(sinfo -h -o '%P' | tr '\n' ' ')"
