// The corpus replay driver: a plain main() around a fuzz target's
// LLVMFuzzerTestOneInput, for compilers without libFuzzer (the g++ build of
// `make test`). It feeds every file of the corpus directories and files it is
// given, then a bounded number of deterministic pseudo-random inputs, half
// of them mutations of corpus files (byte flips, overwrites, truncation,
// splices), so a regression in a reader shows up in CI without clang.
//
//   fuzz_<target>_replay [--runs=N] [--seed=S] [--max-len=N] PATH...
//   (CAIRN_REPLAY_DUMP=file keeps the input being run, for crashes)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

namespace {

std::vector<uint8_t> ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

uint64_t Next(uint64_t& x) {
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  return x * 0x2545F4914F6CDD1Dull;
}

void Mutate(std::vector<uint8_t>& input, const std::vector<uint8_t>& other,
            uint64_t& x, size_t max_len) {
  const size_t edits = 1 + Next(x) % 8;
  for (size_t e = 0; e < edits; ++e) {
    const uint64_t r = Next(x);
    switch (r % 6) {
      case 0:  // flip a bit
        if (!input.empty()) input[Next(x) % input.size()] ^= 1 << (r >> 8) % 8;
        break;
      case 1:  // overwrite a byte
        if (!input.empty()) input[Next(x) % input.size()] = Next(x) & 0xFF;
        break;
      case 2:  // truncate
        if (!input.empty()) input.resize(Next(x) % input.size());
        break;
      case 3:  // insert random bytes
        if (input.size() < max_len) {
          const size_t at = input.empty() ? 0 : Next(x) % input.size();
          const size_t n = 1 + Next(x) % 16;
          for (size_t i = 0; i < n; ++i) {
            input.insert(input.begin() + at, Next(x) & 0xFF);
          }
        }
        break;
      case 4:  // splice in a piece of another input
        if (!other.empty() && !input.empty()) {
          const size_t from = Next(x) % other.size();
          const size_t to = Next(x) % input.size();
          const size_t n = std::min({other.size() - from, input.size() - to,
                                     size_t{1 + Next(x) % 64}});
          std::copy_n(other.begin() + from, n, input.begin() + to);
        }
        break;
      default:  // an interesting value
        if (!input.empty()) {
          static const uint8_t kValues[] = {0x00, 0xFF, 0x7F, 0x80, 0x01};
          input[Next(x) % input.size()] = kValues[Next(x) % 5];
        }
        break;
    }
  }
  if (input.size() > max_len) input.resize(max_len);
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  uint64_t runs = 0, seed = 1;
  size_t max_len = 4096;
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--runs=", 0) == 0) {
      runs = std::strtoull(arg.c_str() + 7, nullptr, 0);
    } else if (arg.rfind("--seed=", 0) == 0) {
      seed = std::strtoull(arg.c_str() + 7, nullptr, 0);
    } else if (arg.rfind("--max-len=", 0) == 0) {
      max_len = std::strtoull(arg.c_str() + 10, nullptr, 0);
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
    } else {
      files.push_back(arg);
    }
  }
  std::sort(files.begin(), files.end());

  std::vector<std::vector<uint8_t>> corpus;
  for (const auto& path : files) {
    corpus.push_back(ReadAll(path));
    LLVMFuzzerTestOneInput(corpus.back().data(), corpus.back().size());
  }
  // CAIRN_REPLAY_DUMP=path: each generated input is written there before it
  // runs, so after a crash the file holds the input that caused it.
  const char* dump = std::getenv("CAIRN_REPLAY_DUMP");
  uint64_t x = seed == 0 ? 1 : seed;
  for (uint64_t run = 0; run < runs; ++run) {
    std::vector<uint8_t> input;
    if (!corpus.empty() && run % 2 == 0) {
      input = corpus[Next(x) % corpus.size()];
      Mutate(input, corpus[Next(x) % corpus.size()], x, max_len);
    } else {
      input.resize(Next(x) % std::min<size_t>(max_len + 1, 1024));
      for (uint8_t& b : input) b = Next(x) & 0xFF;
    }
    if (dump != nullptr) {  // keep the input that is about to run
      std::ofstream out(dump, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(input.data()),
                static_cast<std::streamsize>(input.size()));
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::fprintf(stderr, "replayed %zu corpus inputs and %llu generated inputs\n",
               corpus.size(), static_cast<unsigned long long>(runs));
  return 0;
}
