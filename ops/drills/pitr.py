"""Point-in-time restore drill (docs/operations.md, "MariaDB: full backups plus
binlogs"), on a private mariadbd with binlogs on; the shared servers are never touched.

1. start the server, and the binlog archiver (`mariadb-binlog --read-from-remote-server
   --raw --stop-never`, as the archive host would run it);
2. load writes: a writer commits transfers (an entry row plus both balances, one
   transaction each) as fast as it can, remembering when each commit was acknowledged;
3. take a full backup with mariadb-backup while the writer goes on, and prepare it;
4. keep writing, then "lose" the server: kill -9, and delete its data and binlogs;
5. restore: copy the backup back into an empty data directory, start, replay the
   archived binlogs from the backup's position up to the second of the loss
   (`mariadb-binlog --start-position --stop-datetime | mariadb`);
6. compare: every acknowledged commit is there but at most the last second's, and no
   transaction is half there (balances sum to zero and equal their entries).

    .venv/bin/python ops/drills/pitr.py [--seconds 4]
Exit status 0 when the restore is within one second; the numbers are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import Cleanup, DrillFailed, MariaDB, ensure_package, say, wait_for  # noqa: E402

ACCOUNTS = 20
MAX_LOSS_SECONDS = 1.0


class Writer(threading.Thread):
    """Commits transfers until stopped or the server goes; acks[seq] = when the server
    acknowledged the commit (time.time())."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.acks: dict[int, float] = {}
        self.stop = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", database="drill",
                               autocommit=False, connect_timeout=5, read_timeout=10, write_timeout=10)
        seq = 0
        try:
            while not self.stop.is_set():
                seq += 1
                src, dst = seq % ACCOUNTS + 1, (seq * 7 + 3) % ACCOUNTS + 1
                if src == dst:
                    dst = dst % ACCOUNTS + 1
                amount = seq % 97 + 1
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO entries (seq, account_id, amount) VALUES (%s, %s, %s), (%s, %s, %s)",
                                (seq, src, -amount, seq, dst, amount))
                    cur.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, src))
                    cur.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, dst))
                conn.commit()
                self.acks[seq] = time.time()
                time.sleep(0.002)
        except Exception as exc:  # noqa: BLE001 - the server was killed under it
            self.error = f"{type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="writing before and after the backup")
    args = ap.parse_args(argv)
    ensure_package("mariadb-backup", "mariadb-backup")
    started = time.monotonic()
    with Cleanup("siyu-drill-pitr.") as c:
        try:
            return drill(c, args.seconds, started)
        except DrillFailed as exc:
            say(f"PITR DRILL FAILED: {exc}")
            return 1


def drill(c: Cleanup, seconds: float, started: float) -> int:
    primary = MariaDB(c, "primary", binlog=True)
    say(f"1. private mariadbd with binlogs on port {primary.port} in {primary.base}")
    primary.install()
    primary.start()
    primary.sql("CREATE DATABASE drill")
    primary.sql("CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;"
                "CREATE TABLE entries (id BIGINT AUTO_INCREMENT PRIMARY KEY, seq BIGINT NOT NULL, "
                "account_id INT NOT NULL, amount BIGINT NOT NULL, KEY (seq)) ENGINE=InnoDB;"
                "INSERT INTO accounts SELECT seq, 0 FROM seq_1_to_" + str(ACCOUNTS), database="drill")
    first_binlog = primary.sql("SHOW MASTER STATUS").split()[0]
    archive = c.dir / "archive"
    archive.mkdir()
    archiver = c.start(["mariadb-binlog", "--no-defaults", "--read-from-remote-server", "--host=127.0.0.1",
                        f"--port={primary.port}", "--user=root", "--raw", "--stop-never",
                        f"--result-file={archive}/", first_binlog], log="archiver.out")
    wait_for("the binlog archiver's first file", lambda: (archive / first_binlog).exists(), timeout=60)
    say(f"   binlog archiver streaming {first_binlog}… into {archive}")

    say("2. writing transfers")
    writer = Writer(primary.port)
    writer.start()
    time.sleep(seconds)
    say(f"3. full backup with mariadb-backup while writing ({len(writer.acks)} commits so far)")
    full = c.dir / "full"
    t = time.monotonic()
    for step in (["--backup", f"--target-dir={full}", f"--socket={primary.socket}", "--user=root"],
                 ["--prepare", f"--target-dir={full}"]):
        out = subprocess.run(["mariadb-backup", "--no-defaults", *step], capture_output=True, text=True,
                             timeout=600)
        if out.returncode:
            raise DrillFailed(f"mariadb-backup {step[0]}: {out.stderr[-2000:]}")
    binlog_file, binlog_pos = (full / "xtrabackup_binlog_info").read_text().split()[:2]
    say(f"   backup taken and prepared in {time.monotonic() - t:.1f} s, consistent with {binlog_file}:{binlog_pos}")
    if not writer.is_alive():
        raise DrillFailed(f"the writer stopped during the backup: {writer.error}")

    time.sleep(seconds)
    say("4. losing the server: kill -9, data directory and local binlogs deleted")
    acked_before_loss = dict(writer.acks)
    loss = time.time()
    primary.kill9()
    writer.join(timeout=30)
    acked = dict(writer.acks)  # a commit acknowledged as the server died still counts
    try:
        archiver.wait(timeout=30)  # it sees the connection drop, writes what it has and exits
    except subprocess.TimeoutExpired:
        archiver.kill()
    shutil.rmtree(primary.datadir)
    shutil.rmtree(primary.binlog_dir)

    say("5. restore: copy the backup back, start, replay archived binlogs up to the second of the loss")
    restored = MariaDB(c, "restored")
    restored.datadir.mkdir(parents=True)
    restored.binlog_dir.mkdir()
    out = subprocess.run(["mariadb-backup", "--no-defaults", "--copy-back", f"--target-dir={full}",
                          f"--datadir={restored.datadir}"], capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise DrillFailed(f"mariadb-backup --copy-back: {out.stderr[-2000:]}")
    restored.start()
    in_backup = int(restored.sql("SELECT COUNT(DISTINCT seq) FROM entries", database="drill"))
    files = sorted(p for p in archive.iterdir() if p.name >= binlog_file and p.name.startswith("binlog."))
    stop_at = dt.datetime.fromtimestamp(int(loss) + 1).strftime("%Y-%m-%d %H:%M:%S")
    say(f"   replaying {', '.join(p.name for p in files)} from position {binlog_pos} to {stop_at}")
    binlog = subprocess.Popen(["mariadb-binlog", "--no-defaults", f"--start-position={binlog_pos}",
                               f"--stop-datetime={stop_at}", *map(str, files)], stdout=subprocess.PIPE)
    replay = subprocess.run(["mariadb", "--no-defaults", f"--socket={restored.socket}", "-uroot"],
                            stdin=binlog.stdout, capture_output=True, text=True, timeout=600)
    assert binlog.stdout is not None
    binlog.stdout.close()
    if binlog.wait(timeout=60) or replay.returncode:
        raise DrillFailed(f"replaying the binlogs: {replay.stderr[-2000:]}")

    say("6. compare")
    restored_seqs = {int(x) for x in restored.sql("SELECT DISTINCT seq FROM entries", database="drill").split()}
    half = restored.sql("SELECT COUNT(*) FROM (SELECT seq FROM entries GROUP BY seq HAVING COUNT(*) <> 2 "
                        "OR SUM(amount) <> 0) x", database="drill").strip()
    total = restored.sql("SELECT COALESCE(SUM(balance), 0) FROM accounts", database="drill").strip()
    mismatched = restored.sql(
        "SELECT COUNT(*) FROM accounts a LEFT JOIN (SELECT account_id, SUM(amount) s FROM entries "
        "GROUP BY account_id) e ON e.account_id = a.id WHERE a.balance <> COALESCE(e.s, 0)", database="drill").strip()
    lost = sorted(set(acked) - restored_seqs)
    extra = sorted(restored_seqs - set(acked))
    last_ack = max(acked.values())
    kept = [acked[s] for s in acked if s in restored_seqs]
    lost_seconds = (last_ack - max(kept)) if lost and kept else (last_ack - min(acked.values()) if lost else 0.0)
    print()
    print("PITR drill (private mariadbd, mariadb-backup + archived binlogs, --stop-datetime)")
    print(f"  commits acknowledged          {len(acked):>7}   ({len(acked_before_loss)} before the kill was sent)")
    print(f"  in the full backup            {in_backup:>7}   (taken while writing; the rest replayed from binlogs)")
    print(f"  restored                      {len(restored_seqs):>7}")
    print(f"  acknowledged but lost         {len(lost):>7}   spanning {lost_seconds:.3f} s of commits (limit {MAX_LOSS_SECONDS:.0f} s)")
    print(f"  restored, never acknowledged  {len(extra):>7}   (committed as the server died)")
    print(f"  half-written transfers        {half:>7}")
    print(f"  sum of balances               {total:>7}   accounts not equal to their entries: {mismatched}")
    print(f"  drill time                    {time.monotonic() - started:>7.1f} s")
    problems = []
    if lost_seconds > MAX_LOSS_SECONDS:
        problems.append(f"{lost_seconds:.3f} s of acknowledged commits lost")
    if half != "0" or total != "0" or mismatched != "0":
        problems.append("a transaction is half restored")
    if len(restored_seqs) <= in_backup:
        problems.append("nothing after the backup was replayed")
    if problems:
        say("PITR DRILL FAILED: " + "; ".join(problems))
        return 1
    say("PITR DRILL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
