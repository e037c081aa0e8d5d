// easycodef-node-two-way.js: the official Node.js client, easycodef-node, unmodified, through
// two-way authentication end to end against the emulator (scripts/easycodef-node-two-way.sh
// starts the emulator and runs this). With the demo (development) credentials given:
//
//   1. the token: issued to them, its JWT's service_type "1" (development);
//   2. simple authentication on /v1/kr/public/pp/nhis-health-checkup/result: requestProduct
//      answers CF-03002 (method simpleAuth, twoWayInfo and is2Way at the top level), then
//      requestCertification with simpleAuth "1" and twoWayInfo gets the checkup results;
//   3. a captcha on /v1/kr/insurance/0001/credit4u/contract-info (the password RSA-encrypted by
//      the library's own encryptRSA): a wrong answer is asked again, a captcha refresh is asked
//      again, the right answer (123456) gets the contracts.
//
//   NODE_PATH=benchmarks/node_modules node easycodef-node-two-way.js --api-url URL
//       --oauth-url URL --ca-file PEM --public-key KEY --client-id ID --client-secret SECRET
//
// Prints a line per step; exits 0 only when every step came out as CODEF would answer it.
'use strict';


function parseArgs(argv) {
    const names = {
        '--api-url': 'apiUrl', '--oauth-url': 'oauthUrl', '--ca-file': 'caFile',
        '--public-key': 'publicKey', '--client-id': 'clientId', '--client-secret': 'clientSecret',
    };
    const o = {};
    for (let i = 0; i < argv.length; i += 2) {
        const key = names[argv[i]];
        if (!key || i + 1 >= argv.length) throw new Error(`bad option ${argv[i]}`);
        o[key] = argv[i + 1];
    }
    for (const [flag, key] of Object.entries(names))
        if (!o[key]) throw new Error(`${flag} is required`);
    return o;
}

const o = parseArgs(process.argv.slice(2));

// The library, its hosts and its only trusted CA the emulator's.
const { EasyCodef, EasyCodefConstant, EasyCodefUtil } =
    require('../benchmarks/peers/easycodef_at_emulator')(o);

let failures = 0;
function check(what, ok, detail) {
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}${!ok && detail ? `: ${detail}` : ''}\n`);
    if (!ok) ++failures;
    return ok;
}

// requestProduct and requestCertification resolve to the decoded reply as a string on HTTP 200.
function parsed(reply) {
    if (typeof reply !== 'string') throw new Error(`not a reply: ${JSON.stringify(reply)}`);
    return JSON.parse(reply);
}

const extraMessage = 'API 요청 처리가 정상 진행 중입니다. 추가 정보를 입력하세요.';

// Checks a CF-03002 challenge as CODEF sends it; the twoWayInfo a follow-up carries.
function checkChallenge(what, r, method) {
    const d = r.data || {};
    const top = r.twoWayInfo || {};
    check(`${what}: CF-03002 "성공"`,
        r.result && r.result.code === 'CF-03002' && r.result.message === '성공' &&
        r.result.extraMessage === extraMessage, JSON.stringify(r.result));
    check(`${what}: data.continue2Way, method ${method}`,
        d.continue2Way === true && d.method === method, JSON.stringify(d).slice(0, 200));
    check(`${what}: twoWayInfo and is2Way at the top level`,
        r.is2Way === true && top.jti === d.jti && top.jobIndex === d.jobIndex &&
        top.threadIndex === d.threadIndex && top.twoWayTimestamp === d.twoWayTimestamp &&
        top.twoWayTimeout === 160, JSON.stringify(top));
    // What the official samples copy into the follow-up.
    return {
        jobIndex: d.jobIndex, threadIndex: d.threadIndex, jti: d.jti,
        twoWayTimestamp: d.twoWayTimestamp,
    };
}

async function main() {
    const demo = EasyCodefConstant.SERVICE_TYPE_DEMO;
    const codef = new EasyCodef();
    codef.setClientInfoForDemo(o.clientId, o.clientSecret);
    codef.setPublicKey(o.publicKey);

    // 1. The token.
    const token = await codef.requestToken(demo);
    const claims = JSON.parse(Buffer.from(String(token).split('.')[1], 'base64').toString('utf8'));
    check('token: service_type "1" (development) for the demo credentials',
        claims.service_type === '1', JSON.stringify(claims));
    codef.setAccessToken(demo, token);

    // 2. Simple authentication.
    const checkup = '/v1/kr/public/pp/nhis-health-checkup/result';
    const params = {
        organization: '0002', loginType: '5', loginTypeLevel: '1', userName: '홍길동',
        phoneNo: '01012345678', identity: '19900101', searchStartYear: '2022',
        searchEndYear: '2023',
    };
    const first = parsed(await codef.requestProduct(checkup, demo, params));
    const info = checkChallenge('health checkup, first call', first, 'simpleAuth');
    const done = parsed(await codef.requestCertification(checkup, demo,
        { ...params, simpleAuth: '1', is2Way: true, twoWayInfo: info }));
    const list = done.data && done.data.resPreviewList;
    check('health checkup, after simpleAuth "1": CF-00000 with resPreviewList',
        done.result && done.result.code === 'CF-00000' && Array.isArray(list) &&
        list.length === 2 && list[0].resCheckupYear === '2023',
        JSON.stringify(done).slice(0, 300));

    // 3. A captcha.
    const insurance = '/v1/kr/insurance/0001/credit4u/contract-info';
    const ip = { id: 'user01', password: EasyCodefUtil.encryptRSA(o.publicKey, 'insurance-pw') };
    const c1 = parsed(await codef.requestProduct(insurance, demo, ip));
    let twoWay = checkChallenge('insurance, first call', c1, 'secureNo');
    const captcha = (c1.data && c1.data.extraInfo) || {};
    check('insurance: extraInfo.reqSecureNo a JPEG data URL, reqSecureNoRefresh "0"',
        /^data:img\/jpeg;base64,\/9j\//.test(captcha.reqSecureNo || '') &&
        captcha.reqSecureNoRefresh === '0', JSON.stringify(captcha).slice(0, 100));
    const c2 = parsed(await codef.requestCertification(insurance, demo,
        { ...ip, secureNo: '000000', secureNoRefresh: '0', is2Way: true, twoWayInfo: twoWay }));
    twoWay = checkChallenge('insurance, a wrong answer', c2, 'secureNo');
    const c3 = parsed(await codef.requestCertification(insurance, demo,
        { ...ip, secureNo: '', secureNoRefresh: '1', is2Way: true, twoWayInfo: twoWay }));
    twoWay = checkChallenge('insurance, a new captcha', c3, 'secureNo');
    const c4 = parsed(await codef.requestCertification(insurance, demo,
        { ...ip, secureNo: '123456', secureNoRefresh: '0', is2Way: true, twoWayInfo: twoWay }));
    check('insurance, the right answer: CF-00000 with resContractList',
        c4.result && c4.result.code === 'CF-00000' && c4.data &&
        Array.isArray(c4.data.resContractList) && c4.data.resContractList.length === 2 &&
        c4.is2Way === undefined, JSON.stringify(c4).slice(0, 300));

    process.stdout.write(failures === 0 ? 'easycodef-node two-way: passed\n'
        : `easycodef-node two-way: ${failures} check(s) failed\n`);
    // The global agent keeps idle sockets open for a while; the run is over, so exit now.
    process.exit(failures === 0 ? 0 : 1);
}

main().catch((e) => {
    process.stderr.write(`easycodef-node-two-way: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
