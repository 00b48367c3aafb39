// cairn: create, provision, inspect, check and repair flash images.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "commands.h"

using namespace cairn::tool;

namespace {

// The options every command that reads an image accepts.
void AddImageOptions(CLI::App* cmd, ImageOptions& o) {
  cmd->add_option("--layout", o.layout_path,
                  "Layout file (JSON or CSV) overriding the recorded one");
  cmd->add_option("--sector-size", o.sector_size,
                  "Geometry of a raw dump without a layout record");
  cmd->add_option("--alignment", o.alignment,
                  "Program alignment of a raw dump (default 4)");
  cmd->add_option("--erased", o.erased,
                  "Erased byte value of a raw dump (default 0xff)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "cairn: create, provision, inspect, check and repair cairn flash "
      "images.\nSee docs/tool.md for layouts, the image record and exit "
      "codes."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cairn 0.1.0");
  int rc = kExitOk;
  ImageOptions io;
  std::string img, partition, key, file, out, layout;
  bool force = false, json = false, hex = false;

  // ---- image ----
  CLI::App* image = app.add_subcommand("image", "Create and convert images");
  image->require_subcommand(1);
  CLI::App* create = image->add_subcommand(
      "create",
      "Create an erased image from a layout (kvs partitions are "
      "formatted)");
  create->add_option("IMG", img, "Image file to write")->required();
  create->add_option("--layout", layout, "Layout file (JSON or CSV)")
      ->required();
  create->add_flag("--force", force, "Overwrite an existing file");
  create->callback([&] { rc = CmdImageCreate(img, layout, force); });

  CLI::App* info = image->add_subcommand(
      "info", "Print the geometry and partitions recorded in an image");
  info->add_option("IMG", img, "Image file")->required();
  AddImageOptions(info, io);
  info->callback([&] { rc = CmdImageInfo(img, io); });

  CLI::App* raw = image->add_subcommand(
      "raw",
      "Write the raw flash bytes (no layout record) to OUT, e.g. for a "
      "programmer");
  raw->add_option("IMG", img, "Image file")->required();
  raw->add_option("OUT", out, "Raw output file")->required();
  AddImageOptions(raw, io);
  raw->callback([&] { rc = CmdImageRaw(img, out, io); });

  CLI::App* wrap = image->add_subcommand(
      "wrap", "Turn a raw dump into an image with a layout record");
  wrap->add_option("RAW", file, "Raw dump")->required();
  wrap->add_option("IMG", img, "Image file to write")->required();
  wrap->add_option("--layout", layout, "Layout file (JSON or CSV)")->required();
  wrap->add_flag("--force", force, "Overwrite an existing file");
  wrap->callback([&] { rc = CmdImageWrap(file, img, layout, force); });

  // ---- kv ----
  CLI::App* kv = app.add_subcommand("kv", "Key-value partitions");
  kv->require_subcommand(1);
  auto kv_common = [&](CLI::App* cmd) {
    cmd->add_option("IMG", img, "Image file")->required();
    cmd->add_option("-p,--partition", partition,
                    "kvs partition (default: the first one)");
    AddImageOptions(cmd, io);
  };

  KvValueArgs value;
  std::string value_text, value_hex, value_file;
  CLI::App* put = kv->add_subcommand("put", "Set a key");
  kv_common(put);
  put->add_option("KEY", key,
                  "Number (42, 0x2a) or name (hashed with FNV-1a; name:42 "
                  "forces a name)")
      ->required();
  CLI::Option* o_text = put->add_option("VALUE", value_text, "String value");
  CLI::Option* o_hex = put->add_option("--hex", value_hex, "Value in hex");
  CLI::Option* o_file =
      put->add_option("--file", value_file, "Value from a file");
  std::string typed[8];
  const char* type_names[8] = {"u8", "u16", "u32", "u64",
                               "i8", "i16", "i32", "i64"};
  CLI::Option* o_typed[8];
  for (int i = 0; i < 8; ++i) {
    o_typed[i] =
        put->add_option(fmt::format("--{}", type_names[i]), typed[i],
                        fmt::format("Little-endian {} value", type_names[i]));
  }
  put->add_flag("--force", force, "Write even if the image is damaged");
  put->callback([&] {
    if (*o_text) value.text = value_text;
    if (*o_hex) value.hex = value_hex;
    if (*o_file) value.file = value_file;
    for (int i = 0; i < 8; ++i) {
      if (*o_typed[i]) {
        if (value.typed) value.text = value.typed;  // two values: rejected
        value.typed = typed[i];
        value.type = type_names[i];
      }
    }
    rc = CmdKvPut(img, io, partition, key, value, force);
  });

  std::string as_type;
  CLI::App* get = kv->add_subcommand("get", "Print a value (raw bytes)");
  kv_common(get);
  get->add_option("KEY", key, "Number or name")->required();
  get->add_flag("--hex", hex, "Print as hex");
  get->add_option("--as", as_type, "Print as u8..i64, string, hex or base64");
  get->callback([&] { rc = CmdKvGet(img, io, partition, key, hex, as_type); });

  CLI::App* del = kv->add_subcommand("del", "Delete a key");
  kv_common(del);
  del->add_option("KEY", key, "Number or name")->required();
  del->add_flag("--force", force, "Write even if the image is damaged");
  del->callback([&] { rc = CmdKvDel(img, io, partition, key, force); });

  CLI::App* kls = kv->add_subcommand("ls", "List keys as a table");
  kv_common(kls);
  kls->add_flag("--json", json, "JSON instead of a table");
  kls->callback([&] { rc = CmdKvLs(img, io, partition, json); });

  bool non_atomic = false;
  CLI::App* kimport =
      kv->add_subcommand("import",
                         "Provision from a key,type,encoding,value "
                         "CSV in one atomic batch");
  kv_common(kimport);
  kimport->add_option("CSV", file, "CSV file")->required();
  kimport->add_flag("--no-atomic", non_atomic,
                    "One Put per row (for imports larger than one batch)");
  kimport->add_flag("--force", force, "Write even if the image is damaged");
  kimport->callback(
      [&] { rc = CmdKvImport(img, io, partition, file, non_atomic, force); });

  bool csv = false;
  CLI::App* exp = kv->add_subcommand("export", "Export every key");
  kv_common(exp);
  CLI::Option* o_json = exp->add_flag("--json", json, "As JSON");
  CLI::Option* o_csv =
      exp->add_flag("--csv", csv, "As an import CSV (the default)");
  o_json->excludes(o_csv);
  exp->add_option("-o,--output", out, "Output file (default stdout)");
  exp->callback([&] { rc = CmdKvExport(img, io, partition, json, out); });

  // ---- blob ----
  CLI::App* blob = app.add_subcommand("blob", "Blob partitions");
  blob->require_subcommand(1);
  auto blob_common = [&](CLI::App* cmd) {
    cmd->add_option("IMG", img, "Image file")->required();
    cmd->add_option("-p,--partition", partition,
                    "blob partition (default: the first one)");
    AddImageOptions(cmd, io);
  };
  std::string blob_name;
  CLI::App* bw = blob->add_subcommand("write", "Store FILE as the blob");
  blob_common(bw);
  bw->add_option("FILE", file, "File to store")->required();
  bw->add_option("--name", blob_name, "File name to record (default: FILE's)");
  bw->add_flag("--force", force, "Write even if the image is damaged");
  bw->callback(
      [&] { rc = CmdBlobWrite(img, io, partition, blob_name, file, force); });
  CLI::App* br = blob->add_subcommand("read", "Copy the blob to FILE");
  blob_common(br);
  br->add_option("FILE", file, "Output file ('-' for stdout)")->required();
  br->callback([&] { rc = CmdBlobRead(img, io, partition, file); });
  CLI::App* bi = blob->add_subcommand("info", "Show the blob's metadata");
  blob_common(bi);
  bi->add_flag("--json", json, "As JSON");
  bi->callback([&] { rc = CmdBlobInfo(img, io, partition, json); });
  CLI::App* brm = blob->add_subcommand("rm", "Discard the blob");
  blob_common(brm);
  brm->add_flag("--force", force, "Write even if the image is damaged");
  brm->callback([&] { rc = CmdBlobRm(img, io, partition, force); });

  // ---- whole image ----
  CLI::App* ls = app.add_subcommand(
      "ls", "Every partition, its keys or blob, sizes and health");
  ls->add_option("IMG", img, "Image file")->required();
  AddImageOptions(ls, io);
  ls->add_flag("--json", json, "As JSON");
  ls->callback([&] { rc = CmdLs(img, io, json); });

  bool repair = false;
  CLI::App* check = app.add_subcommand(
      "check",
      "Verify every checksum and structure; --repair fixes what a "
      "mount can");
  check->add_option("IMG", img, "Image file")->required();
  AddImageOptions(check, io);
  check->add_flag("--repair", repair,
                  "Rewrite the image consistently, keeping every intact "
                  "value");
  check->add_flag("--json", json, "Findings as JSON");
  check->callback([&] { rc = CmdCheck(img, io, repair, json); });

  std::string svg;
  CLI::App* stats =
      app.add_subcommand("stats", "Space use and per-sector erase counts");
  stats->add_option("IMG", img, "Image file")->required();
  AddImageOptions(stats, io);
  stats->add_option("--svg", svg, "Write a picture of layout and wear");
  stats->callback([&] { rc = CmdStats(img, io, svg); });

  std::optional<uint32_t> sector;
  uint32_t sector_value = 0;
  CLI::App* dump = app.add_subcommand(
      "dump", "Annotated dump: headers, entries, state, offsets");
  dump->add_option("IMG", img, "Image file")->required();
  AddImageOptions(dump, io);
  CLI::Option* o_sector =
      dump->add_option("--sector", sector_value, "Only this (absolute) sector");
  dump->add_option("-p,--partition", partition, "Only this partition");
  dump->callback([&] {
    if (*o_sector) sector = sector_value;
    rc = CmdDump(img, io, sector, partition);
  });

  TortureArgs targs;
  CLI::App* torture = app.add_subcommand(
      "torture",
      "Random workload with power cuts on a simulated flash, "
      "checked against a model");
  torture->add_option("--layout", targs.layout, "Layout file (JSON or CSV)")
      ->required();
  torture->add_option("-p,--partition", targs.partition,
                      "kvs partition (default: the first one)");
  torture->add_option("--cuts", targs.cuts, "Power cuts (default 100)");
  torture->add_option("--seed", targs.seed, "Random seed (default 1)");
  torture->add_option("--keys", targs.keys, "Distinct keys (default 24)");
  torture->add_flag("--ecc", targs.ecc,
                    "Flash with ECC: what a cut leaves half written does not "
                    "read until erased");
  torture->add_flag("-q,--quiet", targs.quiet, "No progress bar");
  torture->add_option("-o,--out", targs.out,
                      "Write the final image (for stats, dump, check)");
  torture->callback([&] { rc = CmdTorture(targs); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "cairn: {}\n", e.what());
    fmt::print(stderr, "Run with --help for more information.\n");
    return kExitUsage;
  } catch (const Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "cairn: error: {}\n", e.what());
    return e.code();
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "cairn: error: out of memory\n");
    return kExitInternal;
  } catch (const std::exception& e) {
    fmt::print(stderr, "cairn: internal error: {}\n", e.what());
    return kExitInternal;
  }
  return rc;
}
