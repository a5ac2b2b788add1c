// amqp_inject: publishes raw bodies to a durable queue, for fault drills
// (malformed tasks or results, stray ids). Not part of the deployment.
//
//   amqp_inject <queue> <body>...      broker from RABBITMQ_HOST/PORT/... as vigil reads it
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "common/amqp_session.hpp"
#include "vigil/config.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: amqp_inject <queue> <body>...\n");
        return 2;
    }
    try {
        std::map<std::string, std::string> env{{"CONTAINER_NAME", "amqp_inject"}};
        for (const char* key : {"RABBITMQ_HOST", "RABBITMQ_PORT", "RABBITMQ_USER", "RABBITMQ_PASSWORD",
                                "RABBITMQ_VHOST", "AMQP_URL"}) {
            if (const char* value = std::getenv(key)) {
                env[key] = value;
            }
        }
        const vigil::Config config = vigil::Config::load(env, "");
        example::AmqpSession session{config.broker};
        const std::string queue = argv[1];
        if (!session.open({queue})) {
            std::fprintf(stderr, "amqp_inject: %s\n", session.last_error().c_str());
            return 1;
        }
        for (int i = 2; i < argc; ++i) {
            session.publish(queue, argv[i]);
        }
        if (!session.wait_for_confirms(std::chrono::seconds{10}, nullptr)) {
            std::fprintf(stderr, "amqp_inject: %s\n", session.last_error().c_str());
            return 1;
        }
        std::printf("published %d message(s) to %s\n", argc - 2, queue.c_str());
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "amqp_inject: %s\n", error.what());
        return 2;
    }
}
