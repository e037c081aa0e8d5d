// easycodef_node.js: a peer for benchmarks/compare.sh. N calls at concurrency C through the
// official Node.js client, easycodef-node (its EasyCodef.requestProduct, in sandbox mode), against
// the emulator.
//
//   node [--require node_nodelay.js] easycodef_node.js --api-url URL --oauth-url URL
//       --ca-file PEM --public-key KEY --params-file FILE [--path P] [--calls N]
//       [--concurrency C]
//
// FILE holds the call's parameters as plain JSON; the library percent-encodes them itself.
// PEM is the only CA trusted (the other clients of compare.sh are given only the emulator's CA
// too): a TLS context made from it alone is handed to the global https agent, which the library
// uses, so that Node's built-in roots are never loaded. The token is fetched and handed to the
// library (its own setAccessToken) before the timed calls, as every client of compare.sh holds
// its token when its timed window starts; the first call still comes before any other API call.
// Prints one JSON line with the same field names as benchmarks/throughput.cpp; first_call_ms
// counts from the process's start (performance.now()).
'use strict';

const { performance } = require('node:perf_hooks');
const fs = require('node:fs');

function parseArgs(argv) {
    const o = { path: '/v1/kr/bank/b/account/list', calls: 10000, concurrency: 32 };
    const names = {
        '--api-url': 'apiUrl', '--oauth-url': 'oauthUrl', '--ca-file': 'caFile',
        '--public-key': 'publicKey',
        '--params-file': 'paramsFile', '--path': 'path', '--calls': 'calls',
        '--concurrency': 'concurrency',
    };
    for (let i = 0; i < argv.length; i += 2) {
        const key = names[argv[i]];
        if (!key || i + 1 >= argv.length) throw new Error(`bad option ${argv[i]}`);
        o[key] = argv[i + 1];
    }
    o.calls = Number(o.calls);
    o.concurrency = Number(o.concurrency);
    for (const k of ['apiUrl', 'oauthUrl', 'caFile', 'publicKey', 'paramsFile'])
        if (!o[k])
            throw new Error('--api-url, --oauth-url, --ca-file, --public-key and --params-file are required');
    if (!(o.calls > 0 && o.concurrency > 0)) throw new Error('--calls and --concurrency must be positive');
    return o;
}

const o = parseArgs(process.argv.slice(2));

// The library, its hosts and its only trusted CA the emulator's.
const { EasyCodef, EasyCodefConstant } = require('./easycodef_at_emulator')(o);

// The request library that easycodef-node uses calls back twice on a transport error (once to
// reject, then it reads response.statusCode of undefined): the second is an uncaught TypeError
// that would end the process. Counted here, so that a run reports it instead of dying.
let uncaught = 0;
process.on('uncaughtException', (e) => {
    if (++uncaught === 1) process.stderr.write(`easycodef_node: uncaught: ${e && e.message}\n`);
});

function percentileMs(sorted, p) {
    if (sorted.length === 0) return 0;
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function main() {
    const params = JSON.parse(fs.readFileSync(o.paramsFile, 'utf8'));
    const codef = new EasyCodef();
    codef.setPublicKey(o.publicKey);
    const sandbox = EasyCodefConstant.SERVICE_TYPE_SANDBOX;

    const latencyMs = new Float64Array(o.calls);
    let next = 0, done = 0, errors = 0, rejected = 0, firstCallMs = -1;
    let firstError = null;

    // requestProduct resolves to the decoded reply as a string on HTTP 200, to a message object
    // otherwise; a transport error rejects it.
    async function worker() {
        for (;;) {
            const i = next++;
            if (i >= o.calls) return;
            const start = performance.now();
            let ok = false;
            try {
                const reply = await codef.requestProduct(o.path, sandbox, params);
                const parsed = typeof reply === 'string' ? JSON.parse(reply) : reply;
                ok = parsed && parsed.result && parsed.result.code === 'CF-00000';
                if (!ok && !firstError) firstError = JSON.stringify(parsed).slice(0, 300);
            } catch (e) {
                ++rejected;
                if (!firstError) firstError = String(e && e.message ? e.message : e);
            }
            const end = performance.now();
            latencyMs[done++] = end - start;
            if (!ok) ++errors;
            // performance.now() counts from the process's start: this includes Node's own.
            else if (firstCallMs < 0) firstCallMs = end;
        }
    }

    // The token, before the timed window (the library would otherwise ask for one in each of the
    // first C calls, which all find none).
    codef.setAccessToken(sandbox, await codef.requestToken(sandbox));

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: Math.min(o.concurrency, o.calls) }, worker));
    const wall = (performance.now() - t0) / 1000;
    const cpuUsed = process.cpuUsage(cpu0);
    const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;

    const sorted = Array.from(latencyMs).sort((a, b) => a - b);
    if (firstError) process.stderr.write(`easycodef_node: first failed call: ${firstError}\n`);
    const out = {
        calls: o.calls, concurrency: o.concurrency, errors, rejected, uncaught,
        wall_s: wall, calls_per_s: o.calls / wall,
        p50_ms: percentileMs(sorted, 0.5), p99_ms: percentileMs(sorted, 0.99),
        p999_ms: percentileMs(sorted, 0.999),
        cpu_s: cpu, cpu_s_per_10k_calls: (cpu * 10000) / o.calls,
        peak_rss_mib: process.resourceUsage().maxRSS / 1024,
        first_call_ms: firstCallMs,
        // Sockets given setNoDelay(true) by node_nodelay.js, when it was preloaded.
        nodelay_sockets: globalThis.nodelaySockets ?? null,
        node_version: process.version,
        library_version: require('easycodef-node/package.json').version,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
    // The global agent keeps idle sockets open for a while; the run is over, so exit now.
    process.exit(errors === 0 ? 0 : 1);
}

main().catch((e) => {
    process.stderr.write(`easycodef_node: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
