// Process facts read from /proc: RSS of a process tree, CPU time, and the open-file limit.
// Linux only, like the bench itself.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on every Linux we run on

/** VmRSS of one process in bytes (0 if it is gone). */
export function rssOf(pid) {
  return statusBytes(pid, 'VmRSS');
}

/** VmHWM of one process in bytes: the most it was ever resident since it started. */
export function peakRssOf(pid) {
  return statusBytes(pid, 'VmHWM');
}

function statusBytes(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** pid and all its descendants (Squid may fork helpers; node does not). */
export function treeOf(pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // raced with an exit
    }
  }
  const out = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop();
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

export function treeRss(pid) {
  return treeOf(pid).reduce((sum, p) => sum + rssOf(p), 0);
}

/** Sum of each process's own peak RSS (an upper bound of the tree's peak). */
export function treePeakRss(pid) {
  return treeOf(pid).reduce((sum, p) => sum + peakRssOf(p), 0);
}

/** user+system CPU seconds of a process tree (children that already exited are not counted). */
export function treeCpuSeconds(pid) {
  const { user, system } = treeCpuSplit(pid);
  return user + system;
}

/** User and system (kernel: syscalls, loopback TCP) CPU seconds of a process tree, apart. */
export function treeCpuSplit(pid) {
  let utime = 0;
  let stime = 0;
  for (const p of treeOf(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      utime += Number(f[11]); // utime (field 14)
      stime += Number(f[12]); // stime (field 15)
    } catch {
      // gone
    }
  }
  return { user: utime / CLK_TCK, system: stime / CLK_TCK };
}

/** Minor page faults of a process tree (fresh pages touched: allocator churn shows up here). */
export function treeMinorFaults(pid) {
  let faults = 0;
  for (const p of treeOf(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      faults += Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]); // minflt (field 10)
    } catch {
      // gone
    }
  }
  return faults;
}

function nofile(pid) {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  const n = (s) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m[1]), hard: n(m[2]) };
}

/**
 * Raise our own soft RLIMIT_NOFILE to the hard limit (children inherit it), so 5,000 idle
 * tunnels (10,000 descriptors in the proxy) fit without touching the npm script. Node has no
 * setrlimit, so ask util-linux's prlimit to do it on our pid. Returns the limit now in force.
 */
export function raiseFdLimit(wanted) {
  let { soft, hard } = nofile(process.pid);
  if (soft >= wanted) return soft;
  const target = Math.min(hard, wanted);
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${target}:${hard === Infinity ? 'unlimited' : hard}`], { stdio: 'ignore' });
  } catch {
    // no prlimit: the caller reports the smaller limit
  }
  ({ soft } = nofile(process.pid));
  return soft;
}
