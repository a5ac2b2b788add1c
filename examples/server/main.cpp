// server: publishes a deterministic workload to RabbitMQ, collects the
// results exactly once, survives being killed at any moment, and announces
// "ALL TASKS DONE: ..." with a checksum equal to that of a run without faults.
//
//   server                      run (needs CONTAINER_NAME, a broker, STATE_DIR)
//   server --print-expected [N] print the fault-free result for N tasks
//                               (default WORKLOAD_SIZE) and exit
#include <cstdio>
#include <string>

#include "common/app.hpp"
#include "common/hang.hpp"
#include "common/workload.hpp"
#include "server/result_book.hpp"
#include "server/server_app.hpp"

namespace {

int print_expected(int argc, char** argv) {
    try {
        const auto settings = example::Settings::load();
        std::uint64_t size = example::ServerSettings::from(settings).workload_size;
        if (argc > 2) {
            const auto parsed = example::parse_uint(argv[2]);
            if (!parsed || *parsed < 1 || *parsed > example::kMaxWorkloadSize) {
                std::fprintf(stderr, "server: bad task count '%s'\n", argv[2]);
                return 2;
            }
            size = *parsed;
        }
        std::fputs(example::expected_results(size).summary().c_str(), stdout);
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "server: %s\n", error.what());
        return 2;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--print-expected") {
        return print_expected(argc, argv);
    }
    if (argc > 1) {
        std::fprintf(stderr, "usage: server [--print-expected [N]]\n");
        return 2;
    }
    return example::run_app("server", [](const example::Settings& settings, vigil::Monitor& monitor) {
        const example::HangSwitch hang_switch{settings};
        example::ServerApp app{example::ServerSettings::from(settings), monitor, hang_switch};
        return app.run();
    });
}
