// cairn image create|info|raw|wrap
#include <fmt/format.h>

#include <filesystem>

#include "commands.h"

namespace cairn::tool {

static void PrintLayout(const Layout& l, bool has_record) {
  fmt::print("geometry: {} ({} total){}\n", l.Describe(),
             HumanBytes(l.size_bytes()),
             has_record ? "" : " [raw dump: no layout record]");
  fmt::print("{:<16}  {:<4}  {:>7}  {:>6}  {:>10}  {}\n", "PARTITION", "KIND",
             "SECTORS", "COUNT", "BYTES", "NOTES");
  for (const PartitionSpec& p : l.partitions) {
    std::string notes;
    if (p.kind == PartitionKind::kKvs) {
      notes = p.max_keys ? fmt::format("max_keys {}", p.max_keys) : "";
    } else {
      notes = "metadata in '" + p.meta + "'";
    }
    fmt::print("{:<16}  {:<4}  {:>7}  {:>6}  {:>10}  {}\n", p.name,
               KindName(p.kind),
               fmt::format("{}-{}", p.first_sector,
                           p.first_sector + p.sector_count - 1),
               p.sector_count, uint64_t{p.sector_count} * l.sector_size, notes);
  }
  if (!l.key_names.empty()) {
    fmt::print("{} key names known\n", l.key_names.size());
  }
}

int CmdImageCreate(const std::string& path, const std::string& layout_path,
                   bool overwrite) {
  Layout layout = ParseLayoutFile(layout_path);
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec)) {
    throw Error(kExitIo,
                fmt::format("'{}' exists; pass --force to overwrite it", path));
  }
  std::unique_ptr<Image> image = Image::Create(layout);
  image->Save(path);
  fmt::print("created {}: {}\n", path, layout.Describe());
  PrintLayout(image->layout(), true);
  return kExitOk;
}

int CmdImageInfo(const std::string& path, const ImageOptions& options) {
  std::unique_ptr<Image> image = Image::Load(path, options);
  PrintLayout(image->layout(), image->has_record());
  return kExitOk;
}

int CmdImageRaw(const std::string& path, const std::string& out,
                const ImageOptions& options) {
  std::unique_ptr<Image> image = Image::Load(path, options);
  image->SaveRaw(out);
  fmt::print("wrote {} bytes of raw flash to {}\n", image->bytes().size(), out);
  return kExitOk;
}

int CmdImageWrap(const std::string& raw, const std::string& out,
                 const std::string& layout_path, bool overwrite) {
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(out, ec)) {
    throw Error(kExitIo,
                fmt::format("'{}' exists; pass --force to overwrite it", out));
  }
  ImageOptions options;
  options.layout_path = layout_path;
  std::unique_ptr<Image> image = Image::Load(raw, options);
  if (image->has_record()) {
    throw Error(kExitUsage,
                fmt::format("'{}' already has a layout record", raw));
  }
  image->set_has_record(true);
  image->Save(out);
  fmt::print("wrote {} with layout {}\n", out, image->layout().Describe());
  return kExitOk;
}

}  // namespace cairn::tool
