#pragma once

#include <filesystem>
#include <ostream>

namespace lienthong::cli {

// `lienthong demo`, second part: three nodes on loopback with mutual TLS between them, under
// `dir`; a sample document from 000.00.11.H53 to agencies on all three, walked by its recipients
// and recalled; a dossier at a one-stop desk consulting two agencies; every step printed to `out`.
// Returns 0 when everything happened as expected, 1 otherwise.
int run_demo_federation(const std::filesystem::path& dir, const std::filesystem::path& sample,
                        const std::filesystem::path& workflows, std::ostream& out);

}  // namespace lienthong::cli
