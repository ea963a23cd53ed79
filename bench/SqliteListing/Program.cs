using System;
using System.Diagnostics;
using System.IO;
using Microsoft.Data.Sqlite;

// Bench-only (issue 14 d): what listing 10,000 run summaries costs from SQLite in a new process,
// against the file store's index. Usage: create <db> <runs> | list <db>
static class Program
{
    static int Main(string[] args)
    {
        var db = args[1];
        if (args[0] == "create")
        {
            if (File.Exists(db)) File.Delete(db);
            using var c = new SqliteConnection("Data Source=" + db);
            c.Open();
            Exec(c, "PRAGMA journal_mode=WAL; CREATE TABLE runs(run_id TEXT PRIMARY KEY, sweep_id TEXT, status TEXT, created_at TEXT, started_at TEXT, completed_at TEXT, tags TEXT, config_hash TEXT, backend TEXT, entrypoint TEXT, config TEXT, error TEXT, owner_pid INTEGER, attempt INTEGER, record TEXT);");
            var count = int.Parse(args[2]);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                // One transaction per run, as one save per run would be (synchronous=FULL: durable like the fsync'd result).
                using var tx = c.BeginTransaction();
                using var cmd = c.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO runs VALUES($id,$sw,'completed',$t,$t,$t,'[]',$h,'local','python train.py {overrides}',$cfg,NULL,NULL,1,$rec)";
                cmd.Parameters.AddWithValue("$id", "run" + i.ToString("D6"));
                cmd.Parameters.AddWithValue("$sw", "sweep" + (i % 10));
                cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.AddMinutes(-i).ToString("o"));
                cmd.Parameters.AddWithValue("$h", Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"));
                cmd.Parameters.AddWithValue("$cfg", "{\"lr\":0.001,\"seed\":0,\"model\":{\"layers\":2,\"hidden\":256}}");
                cmd.Parameters.AddWithValue("$rec", new string('x', 1000));
                cmd.ExecuteNonQuery();
                tx.Commit();
            }
            Console.WriteLine($"create {count}: {clock.Elapsed.TotalMilliseconds / count:F2} ms per run");
            return 0;
        }
        for (var pass = 1; pass <= 2; pass++) {
        var total = Stopwatch.StartNew();
        using (var c = new SqliteConnection("Data Source=" + db + ";Mode=ReadOnly"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT run_id, sweep_id, status, created_at, started_at, completed_at, tags, config_hash, backend, entrypoint, config, error, owner_pid, attempt FROM runs ORDER BY created_at, run_id";
            using var r = cmd.ExecuteReader();
            var n = 0;
            while (r.Read())
            {
                _ = r.GetString(0); _ = r.IsDBNull(1) ? null : r.GetString(1); _ = r.GetString(2); _ = DateTimeOffset.Parse(r.GetString(3));
                _ = r.GetString(10);
                n++;
            }
            Console.WriteLine($"list {n} summaries, new process, query {pass}: {total.Elapsed.TotalMilliseconds:F1} ms");
        }
        }
        return 0;
    }

    static void Exec(SqliteConnection c, string sql) { using var cmd = c.CreateCommand(); cmd.CommandText = sql; cmd.ExecuteNonQuery(); }
}
