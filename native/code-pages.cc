#include "code-pages.h"

#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace ct {

namespace {

struct Search {
  uintptr_t inside;  // an address in the addon's code
  bool found = false;
};

bool HasTextRelocations(const dl_phdr_info* info) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    if (header.p_type != PT_DYNAMIC) continue;
    const auto* entry = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + header.p_vaddr);
    for (; entry->d_tag != DT_NULL; entry++) {
      if (entry->d_tag == DT_TEXTREL) return true;
      if (entry->d_tag == DT_FLAGS && (entry->d_un.d_val & DF_TEXTREL) != 0) return true;
    }
  }
  return false;
}

int Visit(dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<Search*>(data);
  bool ours = false;
  for (int i = 0; i < info->dlpi_phnum && !ours; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    const uintptr_t start = info->dlpi_addr + header.p_vaddr;
    ours = header.p_type == PT_LOAD && search->inside >= start &&
           search->inside < start + header.p_memsz;
  }
  if (!ours) return 0;
  search->found = true;
  if (HasTextRelocations(info)) return 1;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    if (header.p_type != PT_LOAD || (header.p_flags & PF_W) != 0) continue;
    // Whole pages inside the segment only: a page it shares with the writable segment keeps
    // that segment's written bytes.
    const uintptr_t from = (info->dlpi_addr + header.p_vaddr + page - 1) & ~(page - 1);
    const uintptr_t to = (info->dlpi_addr + header.p_vaddr + header.p_memsz) & ~(page - 1);
    if (to > from) {
      (void)madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
      (void)madvise(reinterpret_cast<void*>(from), to - from, MADV_RANDOM);
    }
  }
  return 1;
}

}  // namespace

void ReleaseStartupCodePages() {
  Search search{reinterpret_cast<uintptr_t>(&ReleaseStartupCodePages)};
  dl_iterate_phdr(Visit, &search);
}

}  // namespace ct
