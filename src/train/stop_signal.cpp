// Signal handlers for preemption: they only record the signal; the step loop acts on it.
#include "stop_signal.hpp"

#include <csignal>

namespace fmnist {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;  // written only by the handler
extern "C" void on_stop_signal(int signal_number) { g_stop_signal = signal_number; }
}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() { return g_stop_signal != 0; }
int stop_signal_number() { return g_stop_signal; }

}  // namespace fmnist
