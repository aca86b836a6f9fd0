// lsp_meta.js: checks LSP messages against the official LSP meta-model
// (tests/fixtures/protocol/lsp-metaModel.json, LSP 3.18). The meta-model describes every request,
// notification, structure, enumeration and type alias; this checker walks a value against a
// type and returns a list of problems ("result.capabilities.positionEncoding: 'utf-7' is not
// a value of enumeration PositionEncodingKind"). It is strict where the protocol is: unknown
// properties of a structure are errors (our server must not invent fields), optional
// properties may be absent but never null unless the type allows null.
'use strict';
const fs = require('fs');
const path = require('path');

const INT_MIN = -2147483648, INT_MAX = 2147483647, UINT_MAX = 2147483647;

class MetaModel {
  constructor(file) {
    const m = JSON.parse(fs.readFileSync(file || path.join(__dirname, '..', '..', 'fixtures', 'protocol', 'lsp-metaModel.json'), 'utf8'));
    this.version = m.metaData.version;
    this.structures = new Map(m.structures.map((s) => [s.name, s]));
    this.enumerations = new Map(m.enumerations.map((e) => [e.name, e]));
    this.aliases = new Map(m.typeAliases.map((a) => [a.name, a]));
    this.requests = new Map(m.requests.map((r) => [r.method, r]));
    this.notifications = new Map(m.notifications.map((n) => [n.method, n]));
    this._props = new Map();
  }

  // All properties of a structure, following `extends` and `mixins`.
  properties(name) {
    if (this._props.has(name)) return this._props.get(name);
    const s = this.structures.get(name);
    const out = new Map();
    for (const parent of [...(s.extends || []), ...(s.mixins || [])]) {
      if (parent.kind !== 'reference') throw new Error(`unsupported extends kind ${parent.kind} in ${name}`);
      for (const [k, v] of this.properties(parent.name)) out.set(k, v);
    }
    for (const p of s.properties) out.set(p.name, p);
    this._props.set(name, out);
    return out;
  }

  // Returns [] when value matches type, else problem strings prefixed with `at`.
  check(type, value, at = '$') {
    switch (type.kind) {
      case 'base': return this._base(type.name, value, at);
      case 'reference': return this._reference(type.name, value, at);
      case 'array': {
        if (!Array.isArray(value)) return [`${at}: expected an array, got ${describe(value)}`];
        return value.flatMap((v, i) => this.check(type.element, v, `${at}[${i}]`));
      }
      case 'map': {
        if (!isObject(value)) return [`${at}: expected an object (map), got ${describe(value)}`];
        const errs = [];
        for (const [k, v] of Object.entries(value)) {
          if (type.key.kind === 'base' && (type.key.name === 'integer' || type.key.name === 'uinteger') && !/^-?\d+$/.test(k))
            errs.push(`${at}: map key '${k}' is not an integer`);
          errs.push(...this.check(type.value, v, `${at}.${k}`));
        }
        return errs;
      }
      case 'or': {
        const all = [];
        for (const item of type.items) {
          const e = this.check(item, value, at);
          if (e.length === 0) return [];
          all.push(e);
        }
        // Report the alternative that came closest (fewest problems).
        all.sort((a, b) => a.length - b.length);
        return [`${at}: matches none of ${type.items.length} alternatives; closest: ${all[0].join('; ')}`];
      }
      case 'and': {
        // Every part must hold; properties unknown to all parts are errors.
        if (!isObject(value)) return [`${at}: expected an object, got ${describe(value)}`];
        const known = new Set();
        const errs = [];
        for (const item of type.items) {
          if (item.kind !== 'reference' || !this.structures.has(item.name)) throw new Error('unsupported and-type part');
          for (const k of this.properties(item.name).keys()) known.add(k);
          errs.push(...this._structure(item.name, value, at, true));
        }
        for (const k of Object.keys(value)) if (!known.has(k)) errs.push(`${at}: unknown property '${k}'`);
        return errs;
      }
      case 'literal': return this._props_check(new Map(type.value.properties.map((p) => [p.name, p])), value, at, false, 'literal');
      case 'stringLiteral': return value === type.value ? [] : [`${at}: expected the string '${type.value}', got ${describe(value)}`];
      case 'integerLiteral': return value === type.value ? [] : [`${at}: expected ${type.value}, got ${describe(value)}`];
      case 'booleanLiteral': return value === type.value ? [] : [`${at}: expected ${type.value}, got ${describe(value)}`];
      case 'tuple': {
        if (!Array.isArray(value) || value.length !== type.items.length)
          return [`${at}: expected a tuple of ${type.items.length}, got ${describe(value)}`];
        return type.items.flatMap((t, i) => this.check(t, value[i], `${at}[${i}]`));
      }
      default: throw new Error(`unknown meta-model type kind '${type.kind}'`);
    }
  }

  _base(name, v, at) {
    const ok = {
      string: typeof v === 'string', URI: typeof v === 'string', DocumentUri: typeof v === 'string',
      RegExp: typeof v === 'string', boolean: typeof v === 'boolean', null: v === null,
      integer: Number.isInteger(v) && v >= INT_MIN && v <= INT_MAX,
      uinteger: Number.isInteger(v) && v >= 0 && v <= UINT_MAX,
      decimal: typeof v === 'number' && Number.isFinite(v),
    }[name];
    if (ok === undefined) throw new Error(`unknown base type ${name}`);
    if ((name === 'URI' || name === 'DocumentUri') && ok && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(v))
      return [`${at}: '${v}' is not a URI (no scheme)`];
    return ok ? [] : [`${at}: expected ${name}, got ${describe(v)}`];
  }

  _reference(name, v, at) {
    if (this.structures.has(name)) return this._structure(name, v, at, false);
    if (this.aliases.has(name)) return this.check(this.aliases.get(name).type, v, at);
    const e = this.enumerations.get(name);
    if (!e) throw new Error(`unknown reference ${name}`);
    const baseErr = this._base(e.type.name, v, at);
    if (baseErr.length) return baseErr;
    if (e.supportsCustomValues) return [];
    return e.values.some((x) => x.value === v) ? [] : [`${at}: ${JSON.stringify(v)} is not a value of enumeration ${name}`];
  }

  _structure(name, v, at, allowExtra) {
    return this._props_check(this.properties(name), v, at, allowExtra, name);
  }

  _props_check(props, v, at, allowExtra, what) {
    if (!isObject(v)) return [`${at}: expected an object (${what}), got ${describe(v)}`];
    const errs = [];
    for (const [k, p] of props) {
      if (!(k in v)) { if (!p.optional) errs.push(`${at}: missing required property '${k}' of ${what}`); continue; }
      errs.push(...this.check(p.type, v[k], `${at}.${k}`));
    }
    if (!allowExtra) for (const k of Object.keys(v)) if (!props.has(k)) errs.push(`${at}: unknown property '${k}' in ${what}`);
    return errs;
  }

  // ---- messages ----------------------------------------------------------------------
  // Checks one message the server sent. `methodOfId` maps ids of client requests to their
  // method (to find the result type). Custom methods (layerscope/...) get envelope checks only.
  checkServerMessage(msg, methodOfId) {
    const errs = [];
    if (!isObject(msg)) return ['message is not an object'];
    if (msg.jsonrpc !== '2.0') errs.push(`jsonrpc must be "2.0", got ${describe(msg.jsonrpc)}`);
    if ('method' in msg) {
      const isReq = 'id' in msg;
      const def = (isReq ? this.requests : this.notifications).get(msg.method);
      for (const k of Object.keys(msg)) if (!['jsonrpc', 'id', 'method', 'params'].includes(k)) errs.push(`unknown envelope field '${k}'`);
      if (isReq && !(typeof msg.id === 'string' || Number.isInteger(msg.id))) errs.push('server request id must be an integer or a string');
      if (!def) { errs.push(`unknown ${isReq ? 'request' : 'notification'} '${msg.method}'`); return errs; }
      if (def.messageDirection === 'clientToServer') errs.push(`'${msg.method}' is not sent by servers`);
      if (def.params && !Array.isArray(def.params)) errs.push(...this.check(def.params, msg.params, 'params'));
      else if (!def.params && msg.params !== undefined) errs.push(`'${msg.method}' takes no params`);
      return errs;
    }
    // A response.
    if (!('id' in msg)) return [...errs, 'message has neither method nor id'];
    if (!(msg.id === null || typeof msg.id === 'string' || Number.isInteger(msg.id))) errs.push('response id must be integer, string or null');
    for (const k of Object.keys(msg)) if (!['jsonrpc', 'id', 'result', 'error'].includes(k)) errs.push(`unknown envelope field '${k}'`);
    if (('result' in msg) === ('error' in msg)) return [...errs, 'a response needs exactly one of result and error'];
    if ('error' in msg) {
      const e = msg.error;
      if (!isObject(e)) return [...errs, 'error must be an object'];
      if (!Number.isInteger(e.code)) errs.push('error.code must be an integer');
      if (typeof e.message !== 'string') errs.push('error.message must be a string');
      for (const k of Object.keys(e)) if (!['code', 'message', 'data'].includes(k)) errs.push(`unknown property '${k}' in error`);
      return errs;
    }
    const method = msg.id === null ? undefined : methodOfId.get(msg.id);
    if (method === undefined) return [...errs, `result for id ${JSON.stringify(msg.id)} that no request used`];
    const def = this.requests.get(method);
    if (!def) {
      if (!method.startsWith('layerscope/')) errs.push(`result for unknown request '${method}'`);
      return errs;
    }
    errs.push(...this.check(def.result, msg.result, 'result'));
    return errs;
  }
}

function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
function describe(v) {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  return `${typeof v} ${typeof v === 'object' ? '' : JSON.stringify(v)}`.trim();
}

module.exports = { MetaModel };
