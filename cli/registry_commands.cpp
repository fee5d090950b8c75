// rosterctl validate | convert | dump: registry JSON <-> FlatBuffers.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "wire/json_decoder.hpp"
#include "wire/json_encoder.hpp"
#include "wire/json_writer.hpp"
#include "wire/snapshot.hpp"
#include "wire/verify.hpp"

namespace roster::cli {
namespace {

struct Options {
  std::string file, output;
  size_t max_size = wire::CodecLimits{}.max_document_bytes;
  bool json = false;
  bool compact = false;
};

wire::DecodedDocument decode(const Options& opts) {
  wire::CodecLimits limits;
  limits.max_document_bytes = opts.max_size;
  wire::JsonDecoder decoder(limits);
  return decoder.decode_file(opts.file);
}

std::string counts(const wire::DecodedDocument& doc) {
  std::ostringstream s;
  s << doc.services.size() << " service versions, " << doc.instances.size() << " instances, " << doc.contracts.size()
    << " contracts";
  return s.str();
}

// Prints `ok` or every error; returns the exit code.
int report(const Options& opts, const wire::DecodedDocument& doc) {
  if (opts.json) {
    std::string out;
    wire::JsonWriter w(out);
    w.begin_object().key("ok").boolean(doc.ok());
    if (doc.ok()) {
      w.key("service_versions").unsigned_number(doc.services.size());
      w.key("instances").unsigned_number(doc.instances.size());
      w.key("contracts").unsigned_number(doc.contracts.size());
    } else {
      w.key("errors").begin_array();
      for (auto& e : doc.errors) w.begin_object().key("path").string(e.path).key("message").string(e.message).end_object();
      w.end_array();
    }
    w.end_object();
    std::cout << out << "\n";
  } else if (doc.ok()) {
    std::cout << "ok (" << counts(doc) << ")\n";
  } else {
    for (auto& e : doc.errors) std::cout << opts.file << ": " << e.to_string() << "\n";
  }
  return doc.ok() ? kOk : kNo;
}

// tmp + fsync + rename: a reader of `path` sees the old file or the whole new one, never half.
bool write_file_atomically(const std::string& path, const uint8_t* data, size_t size, std::string& why) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return why = "cannot create " + tmp + ": " + std::strerror(errno), false;
  size_t written = 0;
  while (written < size) {
    ssize_t n = ::write(fd, data + written, size - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    why = "cannot sync " + tmp + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    why = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

void add_input_options(CLI::App* cmd, Options& opts) {
  cmd->add_option("file", opts.file, "Registry JSON document (a whole registry or one service version)")->required();
  cmd->add_option("--max-size", opts.max_size, "Largest document accepted, in bytes")->capture_default_str();
}

}  // namespace

void add_registry_commands(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<Options>();

  auto* validate = app.add_subcommand("validate", "Check a registry JSON document; print ok or every error with its path");
  add_input_options(validate, *opts);
  validate->add_flag("--json", opts->json, "Machine-readable output");
  validate->callback([opts, &exit_code] { exit_code = report(*opts, decode(*opts)); });

  auto* convert = app.add_subcommand("convert", "Convert a registry JSON document to a FlatBuffers snapshot");
  add_input_options(convert, *opts);
  convert->add_option("-o,--output", opts->output, "Output file (FlatBuffers Snapshot)")->required();
  convert->add_flag("--json", opts->json, "Machine-readable output");
  convert->callback([opts, &exit_code] {
    auto doc = decode(*opts);
    if (!doc.ok()) return void(exit_code = report(*opts, doc));
    auto snapshot = wire::build_snapshot(doc.services, doc.instances, doc.contracts, 0);
    std::string why;
    if (!write_file_atomically(opts->output, snapshot.data(), snapshot.size(), why)) {
      std::cerr << "rosterctl: " << why << "\n";
      return void(exit_code = kUsage);
    }
    if (opts->json)
      report(*opts, doc);
    else
      std::cout << "wrote " << opts->output << ": " << counts(doc) << ", " << snapshot.size() << " bytes\n";
  });

  auto* dump = app.add_subcommand("dump", "Verify a FlatBuffers snapshot and print it as registry JSON");
  dump->add_option("file", opts->file, "FlatBuffers Snapshot written by `rosterctl convert`")->required();
  dump->add_flag("--compact", opts->compact, "One line instead of indented JSON");
  dump->callback([opts, &exit_code] {
    std::ifstream in(opts->file, std::ios::binary);
    if (!in) {
      std::cerr << "rosterctl: cannot read " << opts->file << "\n";
      return void(exit_code = kUsage);
    }
    std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Copy into 8-byte aligned storage: the verifier (rightly) insists on aligned buffers.
    std::vector<uint64_t> aligned((raw.size() + 7) / 8);
    std::memcpy(aligned.data(), raw.data(), raw.size());
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(aligned.data()), raw.size());
    if (auto why = wire::verify<wire::Snapshot>(bytes)) {
      std::cerr << "rosterctl: " << opts->file << ": " << *why << "\n";
      return void(exit_code = kNo);
    }
    auto records = wire::open_snapshot(*flatbuffers::GetRoot<wire::Snapshot>(bytes.data()));
    std::vector<const wire::Instance*> orphans;
    std::cout << wire::to_registry_json({records.versions, records.instances, records.contracts}, !opts->compact, &orphans);
    if (!orphans.empty()) {
      std::cerr << "rosterctl: " << opts->file << ": " << orphans.size()
                << " instances name a service version the snapshot does not hold; they were left out\n";
      exit_code = kNo;
    }
  });
}

}  // namespace roster::cli
