#include "common/amqp_session.hpp"

#include <amqp_tcp_socket.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <algorithm>

namespace example {
namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr int kHeartbeatSeconds = 10;      // a dead broker is noticed within ~20 s
constexpr int kFrameMax = 131072;
constexpr std::size_t kMaxBuffered = 10'000;  // far above any prefetch we set
constexpr std::chrono::milliseconds kRpcTimeout{5000};

timeval to_timeval(std::chrono::milliseconds ms) {
    const auto count = std::max<std::chrono::milliseconds::rep>(ms.count(), 0);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(count / 1000);
    tv.tv_usec = static_cast<suseconds_t>((count % 1000) * 1000);
    return tv;
}

amqp_bytes_t as_bytes(const std::string& text) {
    return amqp_bytes_t{text.size(), const_cast<char*>(text.data())};
}

std::string describe(const amqp_rpc_reply_t& reply) {
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return "ok";
        case AMQP_RESPONSE_NONE:
            return "missing RPC reply";
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return amqp_error_string2(reply.library_error);
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
                const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
                return "connection closed by broker: " +
                       std::string(static_cast<const char*>(close->reply_text.bytes), close->reply_text.len);
            }
            if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
                const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
                return "channel closed by broker: " +
                       std::string(static_cast<const char*>(close->reply_text.bytes), close->reply_text.len);
            }
            return "broker error";
    }
    return "unknown reply";
}

}  // namespace

AmqpSession::AmqpSession(vigil::BrokerConfig broker) : broker_(std::move(broker)) {}

AmqpSession::~AmqpSession() { close(); }

bool AmqpSession::fail(const std::string& what) {
    last_error_ = what;
    if (conn_ != nullptr) {
        // No polite close on a broken connection: it could block on a dead peer.
        amqp_destroy_connection(conn_);
        conn_ = nullptr;
    }
    // Delivery tags and confirm numbers die with the connection; the broker
    // redelivers every unacked message to the next consumer.
    buffered_.clear();
    unconfirmed_.clear();
    return false;
}

bool AmqpSession::check_reply(const char* what) {
    const amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn_);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        return true;
    }
    return fail(std::string(what) + ": " + describe(reply));
}

bool AmqpSession::open(const std::vector<std::string>& durable_queues) {
    close();
    publish_seq_ = 0;
    nacked_ = false;
    conn_ = amqp_new_connection();
    if (conn_ == nullptr) {
        return fail("out of memory");
    }
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
    if (socket == nullptr) {
        return fail("cannot create a socket");
    }
    const timeval connect_timeout = to_timeval(broker_.connect_timeout);
    const int status = amqp_socket_open_noblock(socket, broker_.host.c_str(), broker_.port, &connect_timeout);
    if (status != AMQP_STATUS_OK) {
        return fail("connect to " + broker_.host + ":" + std::to_string(broker_.port) + ": " +
                    amqp_error_string2(status));
    }
    // Bound every synchronous call, so that a frozen broker cannot freeze us.
    const timeval rpc_timeout = to_timeval(kRpcTimeout);
    amqp_set_handshake_timeout(conn_, &connect_timeout);
    amqp_set_rpc_timeout(conn_, &rpc_timeout);
    const amqp_rpc_reply_t login =
        amqp_login(conn_, broker_.vhost.c_str(), 0, kFrameMax, kHeartbeatSeconds, AMQP_SASL_METHOD_PLAIN,
                   broker_.user.c_str(), broker_.password.c_str());
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
        return fail("login: " + describe(login));
    }
    amqp_channel_open(conn_, kChannel);
    if (!check_reply("channel.open")) {
        return false;
    }
    // Confirms make "published" mean "the broker has it": a result is acked
    // upstream only after its confirm, so a broker crash cannot lose it.
    amqp_confirm_select(conn_, kChannel);
    if (!check_reply("confirm.select")) {
        return false;
    }
    for (const auto& queue : durable_queues) {
        if (!declare(queue, nullptr)) {
            return false;
        }
    }
    return true;
}

void AmqpSession::close() {
    if (conn_ == nullptr) {
        return;
    }
    amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
    buffered_.clear();
    unconfirmed_.clear();
}

bool AmqpSession::declare(const std::string& queue, std::uint32_t* message_count) {
    const amqp_queue_declare_ok_t* ok = amqp_queue_declare(conn_, kChannel, as_bytes(queue), /*passive=*/0,
                                                           /*durable=*/1, /*exclusive=*/0,
                                                           /*auto_delete=*/0, amqp_empty_table);
    if (!check_reply(("queue.declare " + queue).c_str())) {
        return false;
    }
    if (message_count != nullptr && ok != nullptr) {
        *message_count = ok->message_count;
    }
    return true;
}

bool AmqpSession::set_prefetch(std::uint16_t count) {
    if (conn_ == nullptr) {
        return false;
    }
    amqp_basic_qos(conn_, kChannel, 0, count, /*global=*/0);
    return check_reply("basic.qos");
}

bool AmqpSession::consume(const std::string& queue) {
    if (conn_ == nullptr) {
        return false;
    }
    amqp_basic_consume(conn_, kChannel, as_bytes(queue), amqp_empty_bytes, /*no_local=*/0,
                       /*no_ack=*/0, /*exclusive=*/0, amqp_empty_table);
    return check_reply(("basic.consume " + queue).c_str());
}

bool AmqpSession::ack(std::uint64_t tag, bool multiple) {
    if (conn_ == nullptr) {
        return false;
    }
    const int status = amqp_basic_ack(conn_, kChannel, tag, multiple ? 1 : 0);
    if (status != AMQP_STATUS_OK) {
        return fail(std::string("basic.ack: ") + amqp_error_string2(status));
    }
    return true;
}

bool AmqpSession::publish(const std::string& queue, const std::string& body) {
    if (conn_ == nullptr) {
        return false;
    }
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.delivery_mode = 2;  // persistent: survives a broker restart
    props.content_type = amqp_cstring_bytes("application/json");
    const int status = amqp_basic_publish(conn_, kChannel, amqp_empty_bytes, as_bytes(queue),
                                          /*mandatory=*/0, /*immediate=*/0, &props, as_bytes(body));
    if (status != AMQP_STATUS_OK) {
        return fail(std::string("basic.publish: ") + amqp_error_string2(status));
    }
    unconfirmed_.insert(++publish_seq_);
    return true;
}

bool AmqpSession::handle_method(const amqp_frame_t& frame) {
    switch (frame.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
            const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
            if (ack->multiple) {
                unconfirmed_.erase(unconfirmed_.begin(), unconfirmed_.upper_bound(ack->delivery_tag));
            } else {
                unconfirmed_.erase(ack->delivery_tag);
            }
            return true;
        }
        case AMQP_BASIC_NACK_METHOD:
            nacked_ = true;  // the broker could not take a message: the batch failed
            return true;
        case AMQP_CHANNEL_CLOSE_METHOD: {
            const auto* close = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
            return fail("channel closed by broker: " +
                        std::string(static_cast<const char*>(close->reply_text.bytes), close->reply_text.len));
        }
        case AMQP_CONNECTION_CLOSE_METHOD:
            return fail("connection closed by broker");
        default:
            return true;  // e.g. basic.cancel-ok: nothing to do
    }
}

bool AmqpSession::pump(std::chrono::milliseconds timeout) {
    if (conn_ == nullptr) {
        return false;
    }
    amqp_maybe_release_buffers(conn_);
    const timeval tv = to_timeval(timeout);
    amqp_envelope_t envelope;
    const amqp_rpc_reply_t reply = amqp_consume_message(conn_, &envelope, &tv, 0);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        Delivery delivery;
        delivery.tag = envelope.delivery_tag;
        delivery.redelivered = envelope.redelivered != 0;
        delivery.body.assign(static_cast<const char*>(envelope.message.body.bytes), envelope.message.body.len);
        amqp_destroy_envelope(&envelope);
        if (buffered_.size() >= kMaxBuffered) {
            return fail("too many buffered deliveries (is the prefetch set?)");
        }
        buffered_.push_back(std::move(delivery));
        return true;
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) {
        return true;
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // Not a delivery: a confirm or a close. The frame is queued; read it.
        amqp_frame_t frame;
        const int status = amqp_simple_wait_frame(conn_, &frame);
        if (status != AMQP_STATUS_OK) {
            return fail(std::string("read frame: ") + amqp_error_string2(status));
        }
        if (frame.frame_type == AMQP_FRAME_METHOD) {
            return handle_method(frame);
        }
        return true;  // a stray header or body frame: ignore it
    }
    return fail("consume: " + describe(reply));
}

std::optional<Delivery> AmqpSession::next(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Bounded: each pump reads at least one frame or waits out the time left.
    for (int round = 0; round < 1000 && buffered_.empty() && conn_ != nullptr; ++round) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (!pump(std::max(left, std::chrono::milliseconds{0})) || left.count() <= 0) {
            break;
        }
    }
    if (buffered_.empty()) {
        return std::nullopt;
    }
    Delivery delivery = std::move(buffered_.front());
    buffered_.pop_front();
    return delivery;
}

bool AmqpSession::wait_for_confirms(std::chrono::milliseconds timeout,
                                    const std::function<void()>& while_waiting) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (conn_ != nullptr && !unconfirmed_.empty() && !nacked_) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return fail("no publisher confirm within " + std::to_string(timeout.count()) + " ms");
        }
        if (while_waiting) {
            while_waiting();
        }
        pump(std::chrono::milliseconds{100});
    }
    if (nacked_) {
        nacked_ = false;
        // Simplest correct reaction: drop the connection; the caller re-publishes.
        return fail("broker nacked a publish");
    }
    return conn_ != nullptr;
}

std::optional<std::uint32_t> AmqpSession::message_count(const std::string& queue) {
    if (conn_ == nullptr) {
        return std::nullopt;
    }
    std::uint32_t count = 0;
    if (!declare(queue, &count)) {
        return std::nullopt;
    }
    return count;
}

}  // namespace example
