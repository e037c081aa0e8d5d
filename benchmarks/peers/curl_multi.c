/* curl_multi: a peer for benchmarks/compare.sh. N calls at concurrency C to one CODEF product
 * path through libcurl's multi interface, written the way libcurl's documentation suggests for
 * many concurrent transfers to one host: one multi handle capped at C connections to the host,
 * C easy handles set up once and reused, and TLS sessions shared through a share handle.
 *
 *   curl_multi --api-url URL --oauth-url URL --ca-file PEM --body-file FILE
 *              [--path P] [--calls N] [--concurrency C] [--timeout SECONDS]
 *              [--client-id ID --client-secret SECRET]
 *
 * It gets its own token first and then sends the body of FILE (the percent-encoded JSON
 * parameters, as CODEF wants them) with that token, unchanged: it does not refresh the token on
 * 401, as a plain libcurl client would not; 401 replies are counted as "unauthorized".
 * Prints one JSON line with the same field names as benchmarks/throughput.cpp.
 */
#define _POSIX_C_SOURCE 200809L

#include <curl/curl.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *const sandbox_client_id = "ef27cfaa-10c1-4470-adac-60ba476273f9";
static const char *const sandbox_client_secret = "83160c33-9045-4915-86d8-809473cdf5c3";

struct options {
    const char *api_url, *oauth_url, *ca_file, *body_file, *path;
    const char *client_id, *client_secret;
    size_t calls, concurrency;
    double timeout_s;
};

struct buffer {
    char *data;
    size_t len, cap;
};

/* One transfer slot: an easy handle reused for call after call. */
struct slot {
    CURL *easy;
    struct buffer reply;
    double started;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

_Noreturn static void die(const char *what, const char *detail) {
    fprintf(stderr, "curl_multi: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

_Noreturn static void usage(const char *why) {
    fprintf(stderr,
            "curl_multi: %s\n"
            "usage: curl_multi --api-url URL --oauth-url URL --ca-file PEM --body-file FILE\n"
            "                  [--path P] [--calls N] [--concurrency C] [--timeout SECONDS]\n"
            "                  [--client-id ID --client-secret SECRET]\n",
            why);
    exit(2);
}

static size_t positive(const char *flag, const char *v) {
    char *end = NULL;
    const unsigned long long n = strtoull(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n == 0) usage(flag);
    return (size_t)n;
}

static struct options parse(int argc, char **argv) {
    struct options o = {NULL, NULL, NULL, NULL, "/v1/kr/bank/b/account/list",
                        sandbox_client_id, sandbox_client_secret, 10000, 32, 600.0};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage("an option needs a value (or is unknown)");
        const char *v = argv[++i];
        if (strcmp(a, "--api-url") == 0)
            o.api_url = v;
        else if (strcmp(a, "--oauth-url") == 0)
            o.oauth_url = v;
        else if (strcmp(a, "--ca-file") == 0)
            o.ca_file = v;
        else if (strcmp(a, "--body-file") == 0)
            o.body_file = v;
        else if (strcmp(a, "--path") == 0)
            o.path = v;
        else if (strcmp(a, "--calls") == 0)
            o.calls = positive("--calls needs a positive number", v);
        else if (strcmp(a, "--concurrency") == 0)
            o.concurrency = positive("--concurrency needs a positive number", v);
        else if (strcmp(a, "--timeout") == 0)
            o.timeout_s = (double)positive("--timeout needs a positive number", v);
        else if (strcmp(a, "--client-id") == 0)
            o.client_id = v;
        else if (strcmp(a, "--client-secret") == 0)
            o.client_secret = v;
        else
            usage("unknown option");
    }
    if (!o.api_url || !o.oauth_url || !o.ca_file || !o.body_file)
        usage("--api-url, --oauth-url, --ca-file and --body-file are required");
    return o;
}

static void append(struct buffer *b, const char *p, size_t n) {
    if (!b->data || b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) die("out of memory", NULL);
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static size_t on_data(char *p, size_t size, size_t n, void *user) {
    append(user, p, size * n);
    return size * n;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open", path);
    struct buffer b = {NULL, 0, 0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        append(&b, chunk, n);
    fclose(f);
    /* A trailing newline from the shell that wrote the file is not part of the body. */
    while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = '\0';
    if (b.len == 0) die("empty body file", path);
    *len = b.len;
    return b.data;
}

static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* CODEF replies are form-encoded JSON. Decoding them is part of the work every client does, so
 * this one does it too before it looks at the result code. */
static void form_decode(struct buffer *b) {
    size_t w = 0;
    for (size_t r = 0; r < b->len; ++r) {
        char c = b->data[r];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && r + 2 < b->len && hex(b->data[r + 1]) >= 0 &&
                   hex(b->data[r + 2]) >= 0) {
            c = (char)(hex(b->data[r + 1]) * 16 + hex(b->data[r + 2]));
            r += 2;
        }
        b->data[w++] = c;
    }
    b->len = w;
    if (b->data) b->data[w] = '\0';
}

/* The value of "access_token" in the token reply. Tokens are JWTs: no escapes to undo. */
static char *access_token(const char *reply) {
    const char *key = strstr(reply, "\"access_token\"");
    if (!key) return NULL;
    const char *p = strchr(key + strlen("\"access_token\""), '"');
    if (!p) return NULL;
    const char *end = strchr(p + 1, '"');
    if (!end) return NULL;
    const size_t n = (size_t)(end - p - 1);
    char *t = malloc(n + 1);
    if (!t) return NULL;
    memcpy(t, p + 1, n);
    t[n] = '\0';
    return t;
}

static char *fetch_token(const struct options *o, CURLSH *share, long *connects) {
    CURL *easy = curl_easy_init();
    if (!easy) die("curl_easy_init failed", NULL);
    struct buffer reply = {NULL, 0, 0};
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(easy, CURLOPT_URL, o->oauth_url);
    curl_easy_setopt(easy, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(easy, CURLOPT_SHARE, share);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(easy, CURLOPT_USERNAME, o->client_id);
    curl_easy_setopt(easy, CURLOPT_PASSWORD, o->client_secret);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "grant_type=client_credentials&scope=read");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
    const CURLcode rc = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, connects);
    curl_easy_cleanup(easy);
    if (rc != CURLE_OK) die("token request failed", error[0] ? error : curl_easy_strerror(rc));
    if (status != 200 || !reply.data) die("token request refused", reply.data);
    char *token = access_token(reply.data);
    if (!token) die("no access_token in the token reply", reply.data);
    free(reply.data);
    return token;
}

static int by_value(const void *a, const void *b) {
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The same definition as throughput.cpp's: the element at floor(p * n) of the sorted sample. */
static double percentile_ms(const uint32_t *sorted, size_t n, double p) {
    if (n == 0) return 0;
    size_t k = (size_t)(p * (double)n);
    if (k >= n) k = n - 1;
    return sorted[k] / 1000.0;
}

static void start(CURLM *multi, struct slot *s) {
    s->reply.len = 0;
    s->started = now_s();
    const CURLMcode rc = curl_multi_add_handle(multi, s->easy);
    if (rc != CURLM_OK) die("curl_multi_add_handle failed", curl_multi_strerror(rc));
}

int main(int argc, char **argv) {
    const double t_start = now_s();
    const struct options o = parse(argc, argv);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) die("curl_global_init failed", NULL);

    size_t body_len = 0;
    char *body = read_file(o.body_file, &body_len);

    /* Sessions from the token's connection resume on the API connections too, and each new
     * API connection after the first resumes instead of doing a full handshake. */
    CURLSH *share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

    long connects = 0;
    char *token = fetch_token(&o, share, &connects);
    long connections_opened = connects;

    const size_t url_len = strlen(o.api_url) + strlen(o.path) + 1;
    char *url = malloc(url_len);
    char *auth = malloc(strlen(token) + sizeof "Authorization: Bearer ");
    if (!url || !auth) die("out of memory", NULL);
    snprintf(url, url_len, "%s%s", o.api_url, o.path);
    sprintf(auth, "Authorization: Bearer %s", token);
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    headers = curl_slist_append(headers, "Content-Type: application/json");

    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o.concurrency);
    /* The connection cache keeps every connection the cap allows, so none is closed and
     * reopened between calls. */
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)o.concurrency);

    const size_t nslots = o.concurrency < o.calls ? o.concurrency : o.calls;
    struct slot *slots = calloc(nslots, sizeof *slots);
    uint32_t *latency_us = calloc(o.calls, sizeof *latency_us);
    if (!slots || !latency_us) die("out of memory", NULL);
    for (size_t i = 0; i < nslots; ++i) {
        CURL *e = curl_easy_init();
        if (!e) die("curl_easy_init failed", NULL);
        slots[i].easy = e;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_CAINFO, o.ca_file);
        curl_easy_setopt(e, CURLOPT_SHARE, share);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)body_len);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &slots[i].reply);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &slots[i]);
    }

    size_t started = 0, done = 0, errors = 0, unauthorized = 0;
    double first_call_ms = -1;
    const double cpu0 = cpu_s();
    const double t0 = now_s();
    const double deadline = t0 + o.timeout_s;
    for (; started < nslots; ++started)
        start(multi, &slots[started]);

    while (done < o.calls) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(multi, &running);
        if (mc != CURLM_OK) die("curl_multi_perform failed", curl_multi_strerror(mc));
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) continue;
            CURL *e = msg->easy_handle;
            const CURLcode result = msg->data.result;
            char *priv = NULL;
            long status = 0, conns = 0;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
            struct slot *s = (struct slot *)priv;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns);
            connections_opened += conns;
            const double end = now_s();
            const double us = (end - s->started) * 1e6;
            latency_us[done++] = us > (double)UINT32_MAX ? UINT32_MAX : (uint32_t)us;

            form_decode(&s->reply);
            static const char ok_prefix[] = "{\"result\":{\"code\":\"CF-00000\"";
            const int ok = result == CURLE_OK && status == 200 && s->reply.data &&
                           strncmp(s->reply.data, ok_prefix, sizeof ok_prefix - 1) == 0;
            if (!ok) {
                ++errors;
                if (status == 401) ++unauthorized;
                if (errors == 1 && result != CURLE_OK)
                    fprintf(stderr, "curl_multi: first failed call: %s\n",
                            curl_easy_strerror(result));
            } else if (first_call_ms < 0) {
                first_call_ms = (end - t_start) * 1e3;
            }

            curl_multi_remove_handle(multi, e);
            if (started < o.calls) {
                start(multi, s);
                ++started;
            }
        }
        if (done >= o.calls) break;
        if (now_s() > deadline) die("gave up: --timeout passed", NULL);
        mc = curl_multi_poll(multi, NULL, 0, 100, NULL);
        if (mc != CURLM_OK) die("curl_multi_poll failed", curl_multi_strerror(mc));
    }
    const double wall = now_s() - t0;
    const double cpu = cpu_s() - cpu0;

    qsort(latency_us, o.calls, sizeof *latency_us, by_value);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"calls\":%zu,\"concurrency\":%zu,\"errors\":%zu,\"unauthorized\":%zu,"
           "\"wall_s\":%.6f,\"calls_per_s\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"p999_ms\":%.3f,\"cpu_s\":%.6f,\"cpu_s_per_10k_calls\":%.6f,"
           "\"peak_rss_mib\":%.2f,\"connections_opened\":%ld,\"token_requests\":1,"
           "\"first_call_ms\":%.3f,\"curl_version\":\"%s\"}\n",
           o.calls, o.concurrency, errors, unauthorized, wall, (double)o.calls / wall,
           percentile_ms(latency_us, o.calls, 0.50), percentile_ms(latency_us, o.calls, 0.99),
           percentile_ms(latency_us, o.calls, 0.999), cpu, cpu * 10000.0 / (double)o.calls,
           (double)ru.ru_maxrss / 1024.0, connections_opened, first_call_ms,
           curl_version_info(CURLVERSION_NOW)->version);

    for (size_t i = 0; i < nslots; ++i) {
        curl_easy_cleanup(slots[i].easy);
        free(slots[i].reply.data);
    }
    curl_multi_cleanup(multi);
    curl_share_cleanup(share);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    free(slots);
    free(latency_us);
    free(url);
    free(auth);
    free(token);
    free(body);
    return errors == 0 ? 0 : 1;
}
