// The addon's own read-only file pages (machine code and constants) in this process's page
// tables. No N-API here.
#ifndef CRYPTOTENSORS_CODE_PAGES_H_
#define CRYPTOTENSORS_CODE_PAGES_H_

namespace ct {

// Unmaps from this process the pages of the addon's read-only segments (text, constants, symbol
// tables) that are resident now; the ones still in use come back by a minor fault each, from the
// page cache, with the same bytes. Called once, after a library start-up that runs a lot of code
// only once (ipsec-mb's known-answer self-tests of every algorithm it has, cipher.cc): those pages
// otherwise stay in the resident set for the life of the process (issue 13, peak RSS). The
// range is then advised MADV_RANDOM, so a page that comes back brings no neighbours: a freshly
// linked addon sits in the page cache in large folios, and fault-around mapped 5.7 MiB more of
// it during an encrypted load (peak RSS model + 63.9 MiB instead of 57.4). The writable segment
// (data, relocated tables) is never touched: dropping its pages would lose what was written there.
// Does nothing when the addon's segments cannot be found, or when it has text relocations (its
// read-only pages were then written at load).
void ReleaseStartupCodePages();

}  // namespace ct

#endif  // CRYPTOTENSORS_CODE_PAGES_H_
