// The subcommands of the cairn tool. Each returns the process exit code or
// throws Error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "image.h"

namespace cairn::tool {

// ---- image ----
int CmdImageCreate(const std::string& path, const std::string& layout_path,
                   bool overwrite);
int CmdImageInfo(const std::string& path, const ImageOptions& options);
int CmdImageRaw(const std::string& path, const std::string& out,
                const ImageOptions& options);
int CmdImageWrap(const std::string& raw, const std::string& out,
                 const std::string& layout_path, bool overwrite);

// ---- kv ----
struct KvValueArgs {
  std::optional<std::string> text;  // positional string
  std::optional<std::string> hex;
  std::optional<std::string> file;
  std::string type;  // u8..i64 with `typed`
  std::optional<std::string> typed;
};
int CmdKvPut(const std::string& path, const ImageOptions& options,
             const std::string& partition, const std::string& key,
             const KvValueArgs& value, bool force);
int CmdKvGet(const std::string& path, const ImageOptions& options,
             const std::string& partition, const std::string& key, bool hex,
             const std::string& as_type);
int CmdKvDel(const std::string& path, const ImageOptions& options,
             const std::string& partition, const std::string& key, bool force);
int CmdKvLs(const std::string& path, const ImageOptions& options,
            const std::string& partition, bool json);
int CmdKvImport(const std::string& path, const ImageOptions& options,
                const std::string& partition, const std::string& csv,
                bool non_atomic, bool force);
int CmdKvExport(const std::string& path, const ImageOptions& options,
                const std::string& partition, bool json,
                const std::string& out);

// ---- blob ----
int CmdBlobWrite(const std::string& path, const ImageOptions& options,
                 const std::string& partition, const std::string& name,
                 const std::string& file, bool force);
int CmdBlobRead(const std::string& path, const ImageOptions& options,
                const std::string& partition, const std::string& file);
int CmdBlobInfo(const std::string& path, const ImageOptions& options,
                const std::string& partition, bool json);
int CmdBlobRm(const std::string& path, const ImageOptions& options,
              const std::string& partition, bool force);

// ---- whole image ----
int CmdLs(const std::string& path, const ImageOptions& options, bool json);
int CmdCheck(const std::string& path, const ImageOptions& options, bool repair,
             bool json);
int CmdStats(const std::string& path, const ImageOptions& options,
             const std::string& svg);
int CmdDump(const std::string& path, const ImageOptions& options,
            std::optional<uint32_t> sector, const std::string& partition);
struct TortureArgs {
  std::string layout;
  std::string partition;
  uint32_t cuts = 100;
  uint64_t seed = 1;
  uint32_t keys = 24;
  bool ecc = false;  // the simulated flash has ECC
  bool quiet = false;
  std::string out;  // write the final image here
};
int CmdTorture(const TortureArgs& args);

// Parses a key argument: a number (decimal or 0x-hex) or a name (hashed;
// "name:" forces a name). `name` receives the name, if any.
kvs::Key ParseKey(const std::string& text, std::string* name);

}  // namespace cairn::tool
