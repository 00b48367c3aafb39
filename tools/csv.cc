#include "csv.h"

#include <fmt/format.h>

#include "common.h"

namespace cairn::tool {

std::vector<CsvRow> ParseCsv(const std::string& text,
                             const std::string& origin) {
  std::vector<CsvRow> rows;
  size_t i = 0;
  size_t line = 1;
  const size_t n = text.size();
  while (i < n) {
    // Skip blank and comment lines.
    size_t eol = text.find('\n', i);
    if (eol == std::string::npos) eol = n;
    std::string whole = Trim(std::string_view(text).substr(i, eol - i));
    if (whole.empty() || whole[0] == '#') {
      i = eol + 1;
      ++line;
      continue;
    }
    CsvRow row{line, {}};
    std::string field;
    bool quoted_field = false;
    bool done = false;
    while (!done) {
      // Leading whitespace of a field.
      while (i < n && (text[i] == ' ' || text[i] == '\t')) ++i;
      field.clear();
      quoted_field = false;
      if (i < n && text[i] == '"') {
        quoted_field = true;
        size_t start_line = line;
        ++i;
        for (;;) {
          if (i >= n) {
            throw Error(kExitBadInput,
                        fmt::format("{}:{}: unterminated quoted field", origin,
                                    start_line));
          }
          char c = text[i++];
          if (c == '"') {
            if (i < n && text[i] == '"') {
              field.push_back('"');
              ++i;
            } else {
              break;
            }
          } else {
            if (c == '\n') ++line;
            field.push_back(c);
          }
        }
        while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r'))
          ++i;
        if (i < n && text[i] != ',' && text[i] != '\n') {
          throw Error(kExitBadInput,
                      fmt::format("{}:{}: unexpected text after a quoted "
                                  "field",
                                  origin, line));
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n') {
          field.push_back(text[i++]);
        }
      }
      row.fields.push_back(quoted_field ? field : Trim(field));
      if (i >= n) {
        done = true;
      } else if (text[i] == ',') {
        ++i;
      } else {  // '\n'
        ++i;
        ++line;
        done = true;
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string CsvField(const std::string& value) {
  bool needs = value.empty()
                   ? false
                   : value.find_first_of(",\"\n\r") != std::string::npos ||
                         value.front() == ' ' || value.back() == ' ' ||
                         value.front() == '#';
  if (!needs) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace cairn::tool
