// Replacing an output file atomically: the bytes go to a temporary file beside it
// ("<path>.tmp.<pid>.<16 random hex digits>", created with O_EXCL | O_NOFOLLOW, so no other
// process can have picked the name and no symlink planted there is followed), are fsynced, renamed
// over the path, and the folder is fsynced; a reader or a crash sees the old file or the new one,
// never a mixture. Used for checkpoints, history.csv and the SVG.
#pragma once

#include <string>
#include <string_view>

namespace fmnist {

// Throws Error(Exit::checkpoint, "<path>: cannot write: <step>: <reason>") and removes the
// temporary file; the previous file at path stays intact.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace fmnist
