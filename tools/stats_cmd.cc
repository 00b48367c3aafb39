// cairn stats [--svg FILE]
#include <fmt/format.h>

#include <algorithm>

#include "blob.h"
#include "commands.h"

namespace cairn::tool {

namespace {

struct PartitionStats {
  const PartitionSpec* spec;
  bool mounted = false;
  kvs::Stats kvs;
  std::vector<uint32_t> erase_counts;  // kvs only
  size_t blob_bytes = 0;
  size_t capacity = 0;
};

const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                         "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"};

void WriteSvg(const std::string& path, const Image& image,
              const std::vector<PartitionStats>& stats) {
  const Layout& l = image.layout();
  const int cell = std::max(6, std::min(40, 960 / int(l.sector_count)));
  const int width = int(l.sector_count) * cell + 40;
  const int chart = 120;
  const int height = chart + 150 + int(stats.size()) * 18;
  uint32_t max_erase = 1;
  for (const PartitionStats& p : stats) {
    for (uint32_t c : p.erase_counts) max_erase = std::max(max_erase, c);
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"monospace\" font-size=\"11\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"20\" y=\"18\" font-size=\"13\">cairn image: {}</text>\n"
      "<text x=\"20\" y=\"{}\">erase count per sector (max {})</text>\n",
      width, height, l.Describe(), chart + 58, max_erase);
  const int top = 30;
  for (size_t i = 0; i < stats.size(); ++i) {
    const PartitionStats& p = stats[i];
    const char* color = kColors[i % 8];
    for (uint32_t s = 0; s < p.spec->sector_count; ++s) {
      int x = 20 + int(p.spec->first_sector + s) * cell;
      uint32_t count = s < p.erase_counts.size() ? p.erase_counts[s] : 0;
      int h = p.erase_counts.empty()
                  ? 0
                  : int(double(count) / double(max_erase) * (chart - 10));
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" "
          "fill-opacity=\"0.25\" stroke=\"{}\"/>\n",
          x, top, cell - 1, chart, color, color);
      if (h > 0) {
        svg += fmt::format(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
            "<title>sector {}: {} erases</title></rect>\n",
            x, top + chart - h, cell - 1, h, color, p.spec->first_sector + s,
            count);
      }
    }
    int y = chart + 80 + int(i) * 18;
    std::string use =
        p.spec->kind == PartitionKind::kKvs
            ? (p.mounted
                   ? fmt::format("{} keys, live {} / free {} / reclaimable {}",
                                 p.kvs.live_keys, HumanBytes(p.kvs.live_bytes),
                                 HumanBytes(p.kvs.free_bytes),
                                 HumanBytes(p.kvs.reclaimable_bytes))
                   : std::string("cannot be mounted"))
            : fmt::format("blob {} of {}", HumanBytes(p.blob_bytes),
                          HumanBytes(p.capacity));
    svg += fmt::format(
        "<rect x=\"20\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n"
        "<text x=\"38\" y=\"{}\">{} [{}] sectors {}-{}: {}</text>\n",
        y - 10, color, y, p.spec->name, KindName(p.spec->kind),
        p.spec->first_sector, p.spec->first_sector + p.spec->sector_count - 1,
        use);
  }
  svg += "</svg>\n";
  WriteFileAtomic(path, FromString(svg));
}

}  // namespace

int CmdStats(const std::string& path, const ImageOptions& options,
             const std::string& svg) {
  std::unique_ptr<Image> loaded = Image::Load(path, options);
  // Work on a copy: mounting may repair, and stats never writes the image.
  std::unique_ptr<Image> image = loaded->Clone();
  const Layout& l = image->layout();
  std::vector<PartitionStats> all;
  fmt::print("{}: {}\n", path, l.Describe());
  for (const PartitionSpec& p : l.partitions) {
    PartitionStats ps;
    ps.spec = &p;
    ps.capacity = size_t{p.sector_count} * l.sector_size;
    fmt::print("\n{} [{}] sectors {}-{} ({})\n", p.name, KindName(p.kind),
               p.first_sector, p.first_sector + p.sector_count - 1,
               HumanBytes(ps.capacity));
    if (p.kind == PartitionKind::kKvs) {
      KvsHandle kvs(*image, p);
      Status s = kvs.Init();
      if (!s.ok()) {
        fmt::print("  cannot be mounted: {}\n", s.str());
        all.push_back(ps);
        continue;
      }
      ps.mounted = true;
      ps.kvs = kvs.store().GetStats();
      ps.erase_counts.resize(p.sector_count);
      kvs.store().ReadEraseCounts(ps.erase_counts).IgnoreError();
      const kvs::Stats& st = ps.kvs;
      double total =
          double(st.live_bytes + st.reclaimable_bytes + st.free_bytes);
      if (total <= 0) total = 1;
      auto line = [&](const char* label, size_t bytes) {
        fmt::print("  {:<12} {} {:>9} {:>5.1f}%\n", label,
                   Bar(double(bytes) / total, 40), HumanBytes(bytes),
                   100.0 * double(bytes) / total);
      };
      line("live", st.live_bytes);
      line("reclaimable", st.reclaimable_bytes);
      line("free", st.free_bytes);
      fmt::print("  keys         {} of {} (index)   corruption found {}\n",
                 st.live_keys, st.max_keys, st.corruption_found);
      uint32_t lo =
          *std::min_element(ps.erase_counts.begin(), ps.erase_counts.end());
      uint32_t hi =
          *std::max_element(ps.erase_counts.begin(), ps.erase_counts.end());
      fmt::print("  erase counts: min {}, max {}, spread {}\n", lo, hi,
                 hi - lo);
      for (uint32_t s2 = 0; s2 < p.sector_count; ++s2) {
        uint32_t c = ps.erase_counts[s2];
        fmt::print("    sector {:>4} {} {}\n", p.first_sector + s2,
                   Bar(hi == 0 ? 0 : double(c) / double(hi), 30), c);
      }
    } else {
      try {
        BlobHandle h(*image, p, false, false);
        BlobRecord r = h.Record();
        ps.blob_bytes = r.present && r.complete ? r.size : 0;
      } catch (const Error& e) {
        fmt::print("  {}\n", e.what());
      }
      fmt::print("  used         {} {:>9} of {}\n",
                 Bar(double(ps.blob_bytes) / double(ps.capacity), 40),
                 HumanBytes(ps.blob_bytes), HumanBytes(ps.capacity));
      fmt::print("  (blob sectors carry no erase counts)\n");
    }
    all.push_back(ps);
  }
  if (!svg.empty()) {
    WriteSvg(svg, *image, all);
    fmt::print("\nwrote {}\n", svg);
  }
  return kExitOk;
}

}  // namespace cairn::tool
