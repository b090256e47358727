// SIGUSR1 and SIGTERM set a flag (async-signal-safe); the trainer puts it into the next
// allreduce so that every rank stops at the same step boundary.
#pragma once

namespace fmnist {

void install_stop_handlers();
bool stop_requested();
int stop_signal_number();  // the signal that arrived, 0 if none

}  // namespace fmnist
