# Sums, from a GNU ld map file, the bytes each input file contributes to the
# linked program: flash (text + rodata + data initialisers) and RAM
# (data + bss). Usage: awk -v match_file=libcairn.a -f linked-size.awk MAP
# Prints one line per matching object and a total line.
function hex(text,    i, c, v) {
  v = 0
  text = tolower(text)
  sub(/^0x/, "", text)
  for (i = 1; i <= length(text); i++) {
    c = index("0123456789abcdef", substr(text, i, 1)) - 1
    v = v * 16 + c
  }
  return v
}
function add(section, size, file,    obj) {
  if (size == 0) return
  if (match_file != "" && index(file, match_file) == 0) return
  obj = file
  sub(/.*\(/, "", obj); sub(/\)$/, "", obj); sub(/\.obj$/, "", obj)
  sub(/\.o$/, "", obj)
  if (section ~ /^\.(text|rodata|ARM\.exidx|ARM\.extab|vectors|init_array)/) {
    flash[obj] += size
  } else if (section ~ /^\.data/) {
    flash[obj] += size; ram[obj] += size
  } else if (section ~ /^\.bss/ || section ~ /^COMMON/) {
    ram[obj] += size
  } else {
    return
  }
  seen[obj] = 1
}
/^Linker script and memory map/ { in_map = 1; next }
!in_map { next }
# An input section name alone on its line: address, size, file follow.
/^ [.A-Za-z_][^ ]*$/ { pending = substr($0, 2); next }
/^ +0x[0-9a-fA-F]+ +0x[0-9a-fA-F]+ +[^ ]/ && pending != "" {
  add(pending, hex($2), $3); pending = ""; next
}
/^ [.A-Za-z_][^ ]* +0x[0-9a-fA-F]+ +0x[0-9a-fA-F]+ +[^ ]/ {
  add($1, hex($3), $4); pending = ""; next
}
{ pending = "" }
END {
  n = 0
  for (obj in seen) names[++n] = obj
  # insertion sort by name (portable awk has no asort)
  for (i = 2; i <= n; i++) {
    v = names[i]; j = i - 1
    while (j > 0 && names[j] > v) { names[j + 1] = names[j]; j-- }
    names[j + 1] = v
  }
  printf "%-28s %8s %8s\n", "object", "flash", "ram"
  for (i = 1; i <= n; i++) {
    printf "%-28s %8d %8d\n", names[i], flash[names[i]], ram[names[i]]
    total_flash += flash[names[i]]; total_ram += ram[names[i]]
  }
  printf "%-28s %8d %8d\n", "TOTAL", total_flash, total_ram
}
