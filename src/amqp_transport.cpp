#include "amqp_transport.hpp"

#include <amqp_tcp_socket.h>
#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <optional>
#include <string_view>

#include "control_queue.hpp"
#include "control_routing.hpp"
#include "vigil/timing.hpp"

namespace vigil {
namespace {

constexpr amqp_channel_t kChannel = 1;
// Binding to the event exchange may be refused (no plugin, no permission);
// a refusal closes the channel it was tried on, so it is tried on its own.
constexpr amqp_channel_t kProbeChannel = 2;
const char* const kEventExchange = "amq.rabbitmq.event";
const char* const kQueueDeleted = "queue.deleted";
constexpr std::size_t kInboxMaxLength = 10000;  // the broker drops the oldest past this

timeval to_timeval(Millis timeout) {
    const auto ms = std::max<std::int64_t>(timeout.count(), 0);
    return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

amqp_bytes_t bytes(const std::string& text) { return amqp_bytes_t{text.size(), const_cast<char*>(text.data())}; }

std::string describe(amqp_rpc_reply_t reply) {
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL: return "ok";
        case AMQP_RESPONSE_NONE: return "missing reply";
        case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(reply.library_error);
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
                const auto* close = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
                return "connection closed by broker: " +
                       std::string(static_cast<char*>(close->reply_text.bytes), close->reply_text.len);
            }
            if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
                const auto* close = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
                return "channel closed by broker: " +
                       std::string(static_cast<char*>(close->reply_text.bytes), close->reply_text.len);
            }
            return "broker error";
    }
    return "unknown reply";
}

bool is_event(const amqp_envelope_t& envelope) {
    const std::string_view exchange(static_cast<const char*>(envelope.exchange.bytes), envelope.exchange.len);
    return exchange == kEventExchange;
}

std::optional<std::string> header(const amqp_basic_properties_t& properties, std::string_view key) {
    if (!(properties._flags & AMQP_BASIC_HEADERS_FLAG)) return std::nullopt;
    for (int i = 0; i < properties.headers.num_entries; ++i) {
        const amqp_table_entry_t& entry = properties.headers.entries[i];
        if (std::string_view(static_cast<const char*>(entry.key.bytes), entry.key.len) != key) continue;
        if (entry.value.kind != AMQP_FIELD_KIND_UTF8 && entry.value.kind != AMQP_FIELD_KIND_BYTES) return std::nullopt;
        return std::string(static_cast<const char*>(entry.value.value.bytes.bytes), entry.value.value.bytes.len);
    }
    return std::nullopt;
}

// The event exchange serves every vhost: only our vhost's deletions count.
bool deleted_queue(const amqp_envelope_t& envelope, const std::string& vhost, std::string& queue) {
    const std::string_view key(static_cast<const char*>(envelope.routing_key.bytes), envelope.routing_key.len);
    const auto name = header(envelope.message.properties, "name");
    const auto in_vhost = header(envelope.message.properties, "vhost");
    if (key != kQueueDeleted || !name || (in_vhost && *in_vhost != vhost)) return false;
    queue = *name;
    return true;
}

}  // namespace

AmqpTransport::AmqpTransport(BrokerConfig broker, std::string exchange, std::string self,
                             std::size_t max_message_bytes, Millis message_ttl)
    : broker_(std::move(broker)),
      exchange_(std::move(exchange)),
      self_(std::move(self)),
      max_message_bytes_(max_message_bytes),
      message_ttl_(message_ttl) {}

bool AmqpTransport::fail(const std::string& what) {
    error_ = what;
    close();
    return false;
}

bool AmqpTransport::check(amqp_rpc_reply_t reply, const char* what) {
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return true;
    return fail(std::string(what) + ": " + describe(reply));
}

bool AmqpTransport::connect(std::uint64_t incarnation, std::uint64_t link) {
    close();
    conn_ = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
    if (!socket) return fail("cannot create a socket");
    // Reaching the broker is bounded by the connect timeout; once it answered,
    // a slow reply is load, not loss: reconnecting would only add to the load.
    timeval timeout = to_timeval(broker_.connect_timeout);
    timeval setup = to_timeval(std::max(broker_.connect_timeout, kDeadLinkNoticedWithin));
    amqp_set_handshake_timeout(conn_, &setup);
    amqp_set_rpc_timeout(conn_, &setup);
    const int status = amqp_socket_open_noblock(socket, broker_.host.c_str(), broker_.port, &timeout);
    if (status != AMQP_STATUS_OK) {
        return fail("cannot reach broker " + broker_.host + ":" + std::to_string(broker_.port) + ": " +
                    amqp_error_string2(status));
    }
    // AMQP heartbeats let a dead broker be noticed; rabbitmq-c services them
    // inside our consume calls, which run every few tens of milliseconds.
    const int heartbeat_s = kAmqpHeartbeatSeconds;
    if (!check(amqp_login(conn_, broker_.vhost.c_str(), 0, 131072, heartbeat_s, AMQP_SASL_METHOD_PLAIN,
                          broker_.user.c_str(), broker_.password.c_str()),
               "login")) {
        return false;
    }
    amqp_channel_open(conn_, kChannel);
    if (!check(amqp_get_rpc_reply(conn_), "channel.open")) return false;

    amqp_exchange_declare(conn_, kChannel, bytes(exchange_), amqp_cstring_bytes("topic"), 0, 0, 0, 0,
                          amqp_empty_table);
    if (!check(amqp_get_rpc_reply(conn_), ("exchange.declare " + exchange_).c_str())) return false;

    // A fresh queue each time (its link differs): no RESOURCE_LOCKED from the
    // old exclusive one, and nothing stale is replayed after an outage.
    amqp_table_entry_t arguments[2];
    arguments[0].key = amqp_cstring_bytes("x-max-length");
    arguments[0].value.kind = AMQP_FIELD_KIND_I64;
    arguments[0].value.value.i64 = static_cast<int64_t>(kInboxMaxLength);
    arguments[1].key = amqp_cstring_bytes("x-message-ttl");
    arguments[1].value.kind = AMQP_FIELD_KIND_I64;
    arguments[1].value.value.i64 = message_ttl_.count();
    const amqp_table_t table{2, arguments};
    queue_ = routing::control_queue(exchange_, self_, incarnation, link);
    amqp_queue_declare(conn_, kChannel, bytes(queue_), 0, 0, 1, 1, table);
    if (!check(amqp_get_rpc_reply(conn_), "queue.declare")) return false;
    bind_broker_events();
    if (!conn_) return false;

    for (const std::string& binding : routing::bindings(false, queue_, self_)) {
        if (!bind(binding, true)) return false;
    }
    // Methods on a channel are handled in order: the consume-ok below also
    // tells that the no-wait bindings above are in place.
    amqp_basic_consume(conn_, kChannel, bytes(queue_), amqp_empty_bytes, 0, 1, 1, amqp_empty_table);
    if (!check(amqp_get_rpc_reply(conn_), "basic.consume")) return false;
    amqp_set_rpc_timeout(conn_, &timeout);  // from now on only a polite close waits for a reply
    followers_bound_ = false;
    error_.clear();
    return true;
}

void AmqpTransport::close() noexcept {
    if (!conn_) return;
    // A polite close could block on a dead socket; the broker drops exclusive
    // queues with the TCP connection anyway.
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
    followers_bound_ = false;
}

void AmqpTransport::close_politely() noexcept {
    if (!conn_) return;
    amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    close();
}

bool AmqpTransport::publish(const Outgoing& outgoing, const std::string& body) {
    if (!conn_) return false;
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = 1;  // transient: a heartbeat is worthless after a restart
    const std::string key = routing::key_for(outgoing.audience, queue_, outgoing.to);
    const int status = amqp_basic_publish(conn_, kChannel, bytes(exchange_), bytes(key), 0, 0, &props, bytes(body));
    if (status != AMQP_STATUS_OK) return fail(std::string("publish: ") + amqp_error_string2(status));
    return true;
}

// queue.deleted of every queue of the vhost: a few bytes per deletion, and
// only the control queues of this deployment are read (control_queue.hpp).
void AmqpTransport::bind_broker_events() {
    broker_events_ = false;
    amqp_channel_open(conn_, kProbeChannel);
    if (!check(amqp_get_rpc_reply(conn_), "channel.open (events)")) return;
    amqp_queue_bind(conn_, kProbeChannel, bytes(queue_), amqp_cstring_bytes(kEventExchange),
                    amqp_cstring_bytes(kQueueDeleted), amqp_empty_table);
    const amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn_);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        broker_events_ = true;
        broker_events_error_.clear();
        amqp_channel_close(conn_, kProbeChannel, AMQP_REPLY_SUCCESS);
        check(amqp_get_rpc_reply(conn_), "channel.close (events)");
        return;
    }
    broker_events_error_ = describe(reply);
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        // Refused: only that channel is closed; acknowledge, and carry on without events.
        amqp_channel_close_ok_t close_ok{};
        if (amqp_send_method(conn_, kProbeChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok) != AMQP_STATUS_OK) {
            fail("channel.close-ok (events): cannot send");
        }
        return;
    }
    check(reply, "queue.bind (events)");  // the connection itself failed
}

// Sent without waiting for the reply: queue.bind with no-wait (no bind-ok
// comes); queue.unbind has no such flag, and its unbind-ok is read and passed
// over by receive(). A refusal closes the channel, which receive() reports.
bool AmqpTransport::bind(const std::string& binding, bool on) {
    int status;
    if (on) {
        amqp_queue_bind_t method{};
        method.queue = bytes(queue_);
        method.exchange = bytes(exchange_);
        method.routing_key = bytes(binding);
        method.nowait = 1;
        method.arguments = amqp_empty_table;
        status = amqp_send_method(conn_, kChannel, AMQP_QUEUE_BIND_METHOD, &method);
    } else {
        amqp_queue_unbind_t method{};
        method.queue = bytes(queue_);
        method.exchange = bytes(exchange_);
        method.routing_key = bytes(binding);
        method.arguments = amqp_empty_table;
        status = amqp_send_method(conn_, kChannel, AMQP_QUEUE_UNBIND_METHOD, &method);
    }
    if (status == AMQP_STATUS_OK) return true;
    return fail(std::string(on ? "queue.bind " : "queue.unbind ") + binding + ": " + amqp_error_string2(status));
}

// The new bindings first, then the old ones go: nothing is missed between.
bool AmqpTransport::listen_to_followers(bool on) {
    if (!conn_) return false;
    if (on == followers_bound_) return true;
    const auto wanted = routing::bindings(on, queue_, self_);
    const auto held = routing::bindings(!on, queue_, self_);
    for (const std::string& binding : wanted) {
        if (std::find(held.begin(), held.end(), binding) == held.end() && !bind(binding, true)) return false;
    }
    for (const std::string& binding : held) {
        if (std::find(wanted.begin(), wanted.end(), binding) == wanted.end() && !bind(binding, false)) return false;
    }
    followers_bound_ = on;
    return true;
}

// Nothing buffered inside rabbitmq-c: both sockets can be waited on at once.
// The wait is bounded (the sidecar's idle wait), so rabbitmq-c's consume call
// below still runs often enough to send the AMQP heartbeats it owes.
bool AmqpTransport::other_input_first(Millis timeout, int fd) {
    if (fd < 0 || timeout <= Millis{0} || amqp_frames_enqueued(conn_) || amqp_data_in_buffer(conn_)) return false;
    pollfd fds[2] = {{amqp_get_sockfd(conn_), POLLIN, 0}, {fd, POLLIN, 0}};
    if (poll(fds, 2, static_cast<int>(timeout.count())) <= 0) return false;
    return fds[0].revents == 0 && fds[1].revents != 0;
}

AmqpTransport::Received AmqpTransport::receive(Millis timeout, std::string& body, int also_wake_on) {
    if (!conn_) return Received::Closed;
    amqp_maybe_release_buffers(conn_);
    if (other_input_first(timeout, also_wake_on)) return Received::Timeout;
    if (also_wake_on >= 0) timeout = Millis{0};  // the socket is readable, or the wait is over
    amqp_envelope_t envelope;
    timeval wait = to_timeval(timeout);
    const amqp_rpc_reply_t reply = amqp_consume_message(conn_, &envelope, &wait, 0);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        Received result = Received::Message;
        if (is_event(envelope)) {
            result = Received::LinkClosed;
            if (!deleted_queue(envelope, broker_.vhost, body)) body.clear();  // no queue of ours: ignored
        } else if (envelope.message.body.len > max_message_bytes_) {
            result = Received::Oversized;
        } else {
            body.assign(static_cast<const char*>(envelope.message.body.bytes), envelope.message.body.len);
        }
        amqp_destroy_envelope(&envelope);
        return result;
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        if (reply.library_error == AMQP_STATUS_TIMEOUT) return Received::Timeout;
        if (reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) return handle_unexpected_frame();
    }
    fail("consume: " + describe(reply));
    return Received::Closed;
}

// Something other than a delivery arrived: a close from the broker, or a
// frame we do not use. Only a close ends the connection.
AmqpTransport::Received AmqpTransport::handle_unexpected_frame() {
    amqp_frame_t frame;
    timeval none{0, 0};
    const int status = amqp_simple_wait_frame_noblock(conn_, &frame, &none);
    if (status == AMQP_STATUS_TIMEOUT) return Received::Timeout;
    if (status != AMQP_STATUS_OK) {
        fail(std::string("wait frame: ") + amqp_error_string2(status));
        return Received::Closed;
    }
    if (frame.frame_type == AMQP_FRAME_METHOD &&
        (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
         frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD)) {
        fail("closed by broker");
        return Received::Closed;
    }
    return Received::Timeout;
}

}  // namespace vigil
