#include "roster/upstream/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <span>

namespace roster::upstream {

namespace {

namespace fs = std::filesystem;

// SQLite failures deep inside a statement helper unwind to the public member that called it,
// which returns them as the Error they carry: this type never leaves this file.
struct Failure {
  Error error;
};
[[noreturn]] void raise(ErrorKind kind, std::string message) {
  throw Failure{Error{kind, kind == ErrorKind::Unavailable ? "store_unavailable" : "store_error", std::move(message), ""}};
}

// Runs `fn`, turning a Failure into the returned Error.
template <typename Fn>
auto guarded(Fn&& fn) -> Result<decltype(fn())> {
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      return {};
    } else {
      return fn();
    }
  } catch (const Failure& f) {
    return fail(f.error);
  }
}

// PRAGMA application_id ("RSTR"): tells a roster database from any other SQLite file.
constexpr int32_t kApplicationId = 0x52535452;

// revisions and kinds live in SQLite's signed 64-bit integers; a revision never nears 2^63.
constexpr const char* kSchema = R"sql(
CREATE TABLE records (
  kind     INTEGER NOT NULL,
  key      BLOB    NOT NULL,
  record   BLOB    NOT NULL,
  revision INTEGER NOT NULL,   -- the revision that last wrote it
  PRIMARY KEY (kind, key)
);
CREATE TABLE changes (
  revision INTEGER NOT NULL,
  seq      INTEGER NOT NULL,   -- the mutation's index within its commit
  kind     INTEGER NOT NULL,
  key      BLOB    NOT NULL,
  record   BLOB,               -- NULL: a delete
  PRIMARY KEY (revision, seq)
);
CREATE TABLE meta (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  revision       INTEGER NOT NULL,
  pruned_through INTEGER NOT NULL  -- changes with revision <= this are gone from the log
);
INSERT INTO meta (id, revision, pruned_through) VALUES (1, 0, 0);
)sql";

// Schema 2: the store's identity, made once with the store (a revision means nothing without it).
constexpr const char* kIdentitySchema = R"sql(
CREATE TABLE identity (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  store_id TEXT    NOT NULL
);
)sql";

// 128 random bits as hex: "sqlite:" + this names the store.
std::string random_store_id() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    uint32_t r = rd();
    for (int k = 0; k < 8; ++k, r >>= 4) id.push_back(kHex[r & 15]);
  }
  return id;
}

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// A prepared statement in use: resets it (keeping it prepared for reuse) on every exit path.
class Use {
 public:
  explicit Use(const Stmt& stmt) : stmt_(stmt.get()) {}
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

std::string errno_text(int err) { return std::strerror(err); }

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the files inside were synced by SQLite already
  ::fsync(fd);
  ::close(fd);
}

bool valid_kind(int64_t kind) {
  return kind >= static_cast<int64_t>(RecordKind::ServiceVersion) && kind <= static_cast<int64_t>(RecordKind::FollowState);
}


// A connection plus the path it serves, for error messages.
struct Conn {
  Db db;
  const std::string* path = nullptr;

  [[noreturn]] void fail(int rc, std::string_view what) const {
    std::string message = "roster store " + *path + ": " + std::string(what) + ": ";
    message += db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc);
    message += " (SQLite error " + std::to_string(rc) + ")";
    raise(ErrorKind::Unavailable, message);
  }
  void check(int rc, std::string_view what) const {
    if (rc != SQLITE_OK) fail(rc, what);
  }
  Stmt prepare(const char* sql) const {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    Stmt owned(stmt);
    if (rc != SQLITE_OK) fail(rc, std::string("preparing \"") + sql + "\"");
    return owned;
  }
  // Steps a statement that returns no rows.
  void run(const Stmt& stmt, std::string_view what) const {
    Use use(stmt);
    int rc = sqlite3_step(use.get());
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail(rc, what);
  }
  void exec(const char* sql, std::string_view what) const { check(sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr), what); }
  int64_t query_int(const char* sql, std::string_view what) const {
    Stmt stmt = prepare(sql);
    int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) fail(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, what);
    return sqlite3_column_int64(stmt.get(), 0);
  }
  std::string query_text(const char* sql, std::string_view what) const {
    Stmt stmt = prepare(sql);
    int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) fail(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, what);
    auto* text = sqlite3_column_text(stmt.get(), 0);
    return text ? reinterpret_cast<const char*>(text) : "";
  }
  bool in_transaction() const { return sqlite3_get_autocommit(db.get()) == 0; }
};

Conn open_connection(const std::string& path, const SqliteOptions& options) {
  sqlite3* raw = nullptr;
  // NOMUTEX: each connection is used under SqliteStore's own mutex.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Conn conn{Db(raw), &path};
  if (rc != SQLITE_OK) conn.fail(rc, "opening the database");
  conn.check(sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count())), "setting the busy timeout");
  return conn;
}

void bind_blob(const Conn& conn, sqlite3_stmt* stmt, int index, const void* data, size_t size) {
  // A zero-length blob bound from a null pointer would be NULL; bind an empty blob instead.
  int rc = size == 0 ? sqlite3_bind_zeroblob(stmt, index, 0)
                     : sqlite3_bind_blob64(stmt, index, data, size, SQLITE_STATIC);
  conn.check(rc, "binding a value");
}

template <typename Container>
void read_blob(sqlite3_stmt* stmt, int column, Container& out) {
  auto* data = static_cast<const typename Container::value_type*>(sqlite3_column_blob(stmt, column));
  out.assign(data, data + sqlite3_column_bytes(stmt, column));
}

}  // namespace

struct SqliteStore::Impl {
  std::string dir, path;
  std::string identity;
  SqliteOptions options;
  int lock_fd = -1;

  // Written only by commit, under write_mu, after its COMMIT returned: release pairs with the
  // acquire in revision(), so a thread that sees revision N and then reads through the read
  // connection finds N committed in SQLite's shared WAL index.
  std::atomic<uint64_t> revision{0};

  std::mutex write_mu;
  Conn w;
  Stmt w_begin, w_commit, w_rollback, w_meta, w_upsert, w_delete, w_change, w_set_meta, w_prune;

  // Reads run on their own connection, so a long snapshot scan never holds up commits (WAL lets
  // a reader keep its snapshot while writers append).
  std::mutex read_mu;
  Conn r;
  Stmt r_begin, r_end, r_meta, r_scan, r_changes;

  ~Impl() {
    // Statements before their connections (declaration order would do it too; explicit is clearer).
    for (Stmt* s : {&w_begin, &w_commit, &w_rollback, &w_meta, &w_upsert, &w_delete, &w_change, &w_set_meta,
                    &w_prune, &r_begin, &r_end, &r_meta, &r_scan, &r_changes})
      s->reset();
    r.db.reset();
    w.db.reset();
    if (lock_fd >= 0) ::close(lock_fd);
  }

  [[noreturn]] void fail(std::string_view what, ErrorKind kind = ErrorKind::Corrupt) const {
    raise(kind, "roster store " + path + ": " + std::string(what));
  }

  void open_files();
  void open_write_connection();
  void open_read_connection();

  uint64_t read_meta(const Conn& conn, const Stmt& stmt, uint64_t* pruned_through) const {
    Use use(stmt);
    int rc = sqlite3_step(use.get());
    if (rc != SQLITE_ROW) conn.fail(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "reading the revision");
    if (pruned_through) *pruned_through = static_cast<uint64_t>(sqlite3_column_int64(use.get(), 1));
    return static_cast<uint64_t>(sqlite3_column_int64(use.get(), 0));
  }

  uint64_t apply(const std::vector<Mutation>& mutations);
  // Only this process writes the data dir (its flock), so this fails only for a caller that
  // did not apply its own commits. Under write_mu.
  Result<uint64_t> check_at(uint64_t expected) const {
    if (const uint64_t now = revision.load(std::memory_order_relaxed); now != expected)
      return roster::fail(ErrorKind::Conflict, "revision_moved",
                          "the store is at revision " + std::to_string(now) + ", not " + std::to_string(expected));
    return expected;
  }
  // One SQLite transaction (one fsync) of one revision per element; returns the last.
  uint64_t commit(std::span<const std::vector<Mutation>> transactions);
  uint64_t scan(const std::function<void(const StoredRecord&)>& visit);
  std::optional<std::vector<Change>> changes_since(uint64_t after, size_t limit);
};

// The data dir is the server's alone: made 0700, its files 0600 (the registry may hold what only
// its writers should see, and whoever can write here can rewrite it). A dir that exists keeps
// the mode its owner gave it, unless anyone may write into it: then anyone could replace
// roster.db, so it is refused.
void SqliteStore::Impl::open_files() {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dir, ec)) && !fs::is_directory(dir, ec))
    raise(ErrorKind::Io, "roster store: data dir " + dir + " exists and is not a directory");
  fs::path normal = fs::path(dir).lexically_normal();
  if (!normal.has_filename()) normal = normal.parent_path();  // "var/roster/": its parent is "var"
  const fs::path parent = normal.parent_path();
  ec.clear();  // symlink_status above reports a dir that does not exist yet: not an error here
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) raise(ErrorKind::Io, "roster store: cannot create data dir " + dir + ": " + ec.message());
  const bool created = ::mkdir(dir.c_str(), 0700) == 0;
  if (!created && errno != EEXIST)
    raise(ErrorKind::Io, "roster store: cannot create data dir " + dir + ": " + errno_text(errno));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    raise(ErrorKind::Io, "roster store: data dir " + dir + " is not a directory");
  if (st.st_mode & S_IWOTH) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    raise(ErrorKind::Io, "roster store: data dir " + dir + " is writable by anyone (mode " + mode +
                             "), who could replace the database: chmod o-w it (0700 is best)");
  }
  if (created) fsync_dir(parent.empty() ? "." : parent.string());

  // Two stores on one database would each number revisions from their own cache; refuse the
  // second. flock dies with its process, so a crashed server never leaves a stale lock.
  std::string lock_path = (fs::path(dir) / "roster.lock").string();
  lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) raise(ErrorKind::Io, "roster store: cannot open lock file " + lock_path + ": " + errno_text(errno));
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK)
      raise(ErrorKind::Conflict,
            "roster store: data dir " + dir + " is in use by another roster store (lock " + lock_path + ")");
    raise(ErrorKind::Io, "roster store: cannot lock " + lock_path + ": " + errno_text(err));
  }

  // Made here, as SQLite would make it 0644; its -wal and -shm files take the database's mode.
  int db_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (db_fd < 0) raise(ErrorKind::Io, "roster store: cannot open " + path + ": " + errno_text(errno));
  ::close(db_fd);
}

void SqliteStore::Impl::open_write_connection() {
  w = open_connection(path, options);

  // Identify the file before changing it (switching a foreign database to WAL would modify it).
  // A file that is not SQLite at all fails on this first read with "file is not a database".
  int64_t app_id = w.query_int("PRAGMA application_id", "reading the database header");
  int64_t version = w.query_int("PRAGMA user_version", "reading the schema version");
  int64_t objects = w.query_int("SELECT count(*) FROM sqlite_schema", "reading the schema");
  bool fresh = app_id == 0 && version == 0 && objects == 0;
  if (!fresh) {
    if (app_id != kApplicationId)
      fail("is a SQLite database but not a roster store (application_id " + std::to_string(app_id) + ")");
    if (version != kSchemaVersion && version != 1)  // 1 is migrated below
      fail("has schema version " + std::to_string(version) + " (PRAGMA user_version) but this build reads version " +
           std::to_string(kSchemaVersion) + "; use the matching roster-server or migrate the data dir");
  }

  std::string mode = w.query_text("PRAGMA journal_mode=WAL", "setting the WAL journal mode");
  if (mode != "wal") fail("cannot use the WAL journal mode (SQLite kept \"" + mode + "\")");
  // FULL: in WAL mode every commit fsyncs the WAL, so an acknowledged write survives power loss.
  w.exec("PRAGMA synchronous=FULL", "setting synchronous=FULL");
  w.exec("PRAGMA foreign_keys=ON", "enabling foreign keys");

  if (fresh || version == 1) {
    w.exec("BEGIN IMMEDIATE", "creating the schema");
    try {
      if (fresh) w.exec(kSchema, "creating the schema");
      w.exec(kIdentitySchema, "creating the store's identity");
      w.exec(("INSERT INTO identity (id, store_id) VALUES (1, '" + random_store_id() + "')").c_str(),
             "creating the store's identity");
      w.exec(("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str(), "setting the application id");
      w.exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str(), "setting the schema version");
      w.exec("COMMIT", "creating the schema");
    } catch (...) {
      if (w.in_transaction()) sqlite3_exec(w.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    if (fresh) fsync_dir(dir);  // the new roster.db's directory entry
  }
  identity = "sqlite:" + w.query_text("SELECT store_id FROM identity WHERE id = 1", "reading the store's identity");

  w_begin = w.prepare("BEGIN IMMEDIATE");
  w_commit = w.prepare("COMMIT");
  w_rollback = w.prepare("ROLLBACK");
  w_meta = w.prepare("SELECT revision, pruned_through FROM meta WHERE id = 1");
  w_upsert = w.prepare(
      "INSERT INTO records (kind, key, record, revision) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (kind, key) DO UPDATE SET record = excluded.record, revision = excluded.revision");
  w_delete = w.prepare("DELETE FROM records WHERE kind = ?1 AND key = ?2");
  w_change = w.prepare("INSERT INTO changes (revision, seq, kind, key, record) VALUES (?1, ?2, ?3, ?4, ?5)");
  w_set_meta = w.prepare("UPDATE meta SET revision = ?1, pruned_through = max(pruned_through, ?2) WHERE id = 1");
  w_prune = w.prepare("DELETE FROM changes WHERE revision <= ?1");

  revision.store(read_meta(w, w_meta, nullptr), std::memory_order_release);
}

void SqliteStore::Impl::open_read_connection() {
  r = open_connection(path, options);
  r.exec("PRAGMA query_only=ON", "making the read connection read-only");
  r_begin = r.prepare("BEGIN");
  r_end = r.prepare("COMMIT");
  r_meta = r.prepare("SELECT revision, pruned_through FROM meta WHERE id = 1");
  r_scan = r.prepare("SELECT kind, key, record, revision FROM records ORDER BY kind, key");
  r_changes = r.prepare(
      "SELECT revision, seq, kind, key, record FROM changes WHERE revision > ?1 AND revision <= ?2 "
      "ORDER BY revision, seq");
}

uint64_t SqliteStore::Impl::apply(const std::vector<Mutation>& mutations) {
  uint64_t pruned_through = 0;
  // Read inside the transaction rather than trusting the cache: the database is the authority.
  uint64_t rev = read_meta(w, w_meta, &pruned_through) + 1;
  auto rev_value = static_cast<sqlite3_int64>(rev);

  for (size_t i = 0; i < mutations.size(); ++i) {
    const Mutation& m = mutations[i];
    std::string where = "mutation " + std::to_string(i);
    if (auto valid = check_mutation(m); !valid) fail(where + ": " + valid.error().message, ErrorKind::Invalid);
    auto kind = static_cast<int>(m.kind);

    if (m.record) {
      Use use(w_upsert);
      w.check(sqlite3_bind_int(use.get(), 1, kind), "binding a value");
      bind_blob(w, use.get(), 2, m.key.data(), m.key.size());
      bind_blob(w, use.get(), 3, m.record->data(), m.record->size());
      w.check(sqlite3_bind_int64(use.get(), 4, rev_value), "binding a value");
      int rc = sqlite3_step(use.get());
      if (rc != SQLITE_DONE) w.fail(rc, where + ": writing the record");
    } else {
      Use use(w_delete);
      w.check(sqlite3_bind_int(use.get(), 1, kind), "binding a value");
      bind_blob(w, use.get(), 2, m.key.data(), m.key.size());
      int rc = sqlite3_step(use.get());
      if (rc != SQLITE_DONE) w.fail(rc, where + ": deleting the record");
    }

    Use use(w_change);
    w.check(sqlite3_bind_int64(use.get(), 1, rev_value), "binding a value");
    w.check(sqlite3_bind_int64(use.get(), 2, static_cast<sqlite3_int64>(i)), "binding a value");
    w.check(sqlite3_bind_int(use.get(), 3, kind), "binding a value");
    bind_blob(w, use.get(), 4, m.key.data(), m.key.size());
    if (m.record)
      bind_blob(w, use.get(), 5, m.record->data(), m.record->size());
    else
      w.check(sqlite3_bind_null(use.get(), 5), "binding a value");
    int rc = sqlite3_step(use.get());
    if (rc != SQLITE_DONE) w.fail(rc, where + ": appending to the change log");
  }

  uint64_t keep = options.change_log_revisions;
  uint64_t new_pruned = rev > keep ? rev - keep : 0;
  if (new_pruned > pruned_through) {
    Use use(w_prune);
    w.check(sqlite3_bind_int64(use.get(), 1, static_cast<sqlite3_int64>(new_pruned)), "binding a value");
    int rc = sqlite3_step(use.get());
    if (rc != SQLITE_DONE) w.fail(rc, "pruning the change log");
  }
  {
    Use use(w_set_meta);
    w.check(sqlite3_bind_int64(use.get(), 1, rev_value), "binding a value");
    w.check(sqlite3_bind_int64(use.get(), 2, static_cast<sqlite3_int64>(new_pruned)), "binding a value");
    int rc = sqlite3_step(use.get());
    if (rc != SQLITE_DONE) w.fail(rc, "updating the revision");
  }
  return rev;
}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& data_dir, SqliteOptions options) {
  return guarded([&] {
    auto impl = std::make_unique<Impl>();
    impl->dir = data_dir;
    impl->path = (fs::path(data_dir) / "roster.db").string();
    impl->options = options;
    impl->open_files();
    impl->open_write_connection();
    impl->open_read_connection();
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
  });
}

const std::string& SqliteStore::db_path() const { return impl_->path; }

const std::string& SqliteStore::identity() const { return impl_->identity; }

uint64_t SqliteStore::revision() const { return impl_->revision.load(std::memory_order_acquire); }

Result<uint64_t> SqliteStore::commit(const std::vector<Mutation>& mutations) {
  Impl& s = *impl_;
  std::lock_guard lock(s.write_mu);
  if (mutations.empty()) return s.revision.load(std::memory_order_relaxed);
  return guarded([&] { return s.commit({&mutations, 1}); });
}

Result<uint64_t> SqliteStore::commit_at(uint64_t expected, const std::vector<Mutation>& mutations) {
  Impl& s = *impl_;
  std::lock_guard lock(s.write_mu);
  if (auto at = s.check_at(expected); !at) return at;
  if (mutations.empty()) return expected;
  return guarded([&] { return s.commit({&mutations, 1}); });
}

Result<uint64_t> SqliteStore::commit_group(uint64_t expected, const std::vector<std::vector<Mutation>>& transactions) {
  Impl& s = *impl_;
  std::lock_guard lock(s.write_mu);
  if (auto at = s.check_at(expected); !at) return at;
  for (size_t i = 0; i < transactions.size(); ++i)
    if (transactions[i].empty())
      return fail(ErrorKind::Invalid, "empty_commit", "transaction " + std::to_string(i) + " of the group changes nothing");
  if (transactions.empty()) return expected;
  return guarded([&] { return s.commit(transactions); });
}

uint64_t SqliteStore::Impl::commit(std::span<const std::vector<Mutation>> transactions) {
  Impl& s = *this;
  s.w.run(s.w_begin, "beginning a transaction");
  uint64_t rev = 0;
  try {
    for (const auto& mutations : transactions) rev = s.apply(mutations);
    s.w.run(s.w_commit, "committing");
  } catch (...) {
    // SQLite rolls some failures (e.g. SQLITE_FULL, some I/O errors) back by itself; roll back
    // whatever is still open so nothing partial remains and the connection stays usable.
    if (s.w.in_transaction()) {
      Use use(s.w_rollback);
      sqlite3_step(use.get());
    }
    // A COMMIT that failed late (an fsync error) may still have reached the disk: resync the cache
    // from the database, which stays the authority for the next commit either way.
    try {
      s.revision.store(s.read_meta(s.w, s.w_meta, nullptr), std::memory_order_release);
    } catch (const Failure&) {
    }
    throw;
  }
  s.revision.store(rev, std::memory_order_release);
  return rev;
}

namespace {
// Holds a read transaction open on the read connection for one consistent snapshot.
class ReadTransaction {
 public:
  ReadTransaction(const Conn& conn, const Stmt& begin, const Stmt& end) : conn_(conn), end_(end) {
    conn.run(begin, "beginning a read transaction");
  }
  ~ReadTransaction() {
    if (conn_.in_transaction()) {
      Use use(end_);
      sqlite3_step(use.get());  // ends a read-only transaction: cannot lose anything
    }
  }

 private:
  const Conn& conn_;
  const Stmt& end_;
};
}  // namespace

Result<uint64_t> SqliteStore::scan(const std::function<void(const StoredRecord&)>& visit) const {
  std::lock_guard lock(impl_->read_mu);
  return guarded([&] { return impl_->scan(visit); });
}

uint64_t SqliteStore::Impl::scan(const std::function<void(const StoredRecord&)>& visit) {
  Impl& s = *this;
  ReadTransaction txn(s.r, s.r_begin, s.r_end);
  uint64_t rev = s.read_meta(s.r, s.r_meta, nullptr);

  Use use(s.r_scan);
  StoredRecord rec{RecordKind::ServiceVersion, {}, {}, 0};  // reused: no allocation per row once warm
  for (;;) {
    int rc = sqlite3_step(use.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) s.r.fail(rc, "scanning records");
    int64_t kind = sqlite3_column_int64(use.get(), 0);
    if (!valid_kind(kind)) s.fail("corrupt records row: kind " + std::to_string(kind));
    rec.kind = static_cast<RecordKind>(kind);
    read_blob(use.get(), 1, rec.key);
    read_blob(use.get(), 2, rec.record);
    rec.revision = static_cast<uint64_t>(sqlite3_column_int64(use.get(), 3));
    visit(rec);
  }
  return rev;
}

Result<std::optional<std::vector<Change>>> SqliteStore::changes_since(uint64_t after, size_t limit) const {
  std::lock_guard lock(impl_->read_mu);
  return guarded([&] { return impl_->changes_since(after, limit); });
}

std::optional<std::vector<Change>> SqliteStore::Impl::changes_since(uint64_t after, size_t limit) {
  Impl& s = *this;
  ReadTransaction txn(s.r, s.r_begin, s.r_end);
  uint64_t pruned_through = 0;
  uint64_t rev = s.read_meta(s.r, s.r_meta, &pruned_through);
  if (after < pruned_through || after > rev) return std::nullopt;

  std::vector<Change> changes;
  uint64_t last = after + std::min<uint64_t>(limit, rev - after);
  if (last == after) return changes;
  // Commits are never empty, so revisions (after, last] are exactly the rows to read.
  changes.reserve(last - after);

  Use use(s.r_changes);
  s.r.check(sqlite3_bind_int64(use.get(), 1, static_cast<sqlite3_int64>(after)), "binding a value");
  s.r.check(sqlite3_bind_int64(use.get(), 2, static_cast<sqlite3_int64>(last)), "binding a value");
  for (;;) {
    int rc = sqlite3_step(use.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) s.r.fail(rc, "reading the change log");
    auto change_rev = static_cast<uint64_t>(sqlite3_column_int64(use.get(), 0));
    if (changes.empty() || changes.back().revision != change_rev) changes.push_back(Change{change_rev, {}});
    int64_t kind = sqlite3_column_int64(use.get(), 2);
    if (!valid_kind(kind)) s.fail("corrupt changes row: kind " + std::to_string(kind));
    Mutation& m = changes.back().mutations.emplace_back(Mutation{static_cast<RecordKind>(kind), {}, std::nullopt});
    read_blob(use.get(), 3, m.key);
    if (sqlite3_column_type(use.get(), 4) != SQLITE_NULL) read_blob(use.get(), 4, m.record.emplace());
  }
  return changes;
}

}  // namespace roster::upstream
