// A small RFC 4180-style CSV reader that keeps line numbers for errors.
#pragma once

#include <string>
#include <vector>

namespace cairn::tool {

struct CsvRow {
  size_t line;  // 1-based line where the row starts
  std::vector<std::string> fields;
};

// Splits `text` into rows. Blank lines and lines starting with '#' are
// skipped. Fields may be quoted ("a,b", "say ""hi"""), may span lines when
// quoted, and are returned without surrounding whitespace outside quotes.
// Throws kExitBadInput naming `origin` and the line of an unterminated quote.
std::vector<CsvRow> ParseCsv(const std::string& text,
                             const std::string& origin);

// Quotes a field when it needs it.
std::string CsvField(const std::string& value);

}  // namespace cairn::tool
