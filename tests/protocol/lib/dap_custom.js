// dap_custom.js: schema checks for layerscope's custom DAP requests, which the official
// debugAdapterProtocol.json cannot know. harness.js validates every adapter message against
// `<Command>Response` and records "no schema definition LayerscopeTensorResponse" for a
// successful custom response (error responses validate as ErrorResponse there). This helper
// takes those records out and instead validates each such response's envelope against the
// generic `Response` definition of the same DAP schema and its body against the contract in
// editor-extension/README.md, so a custom reply is still checked message by message.
'use strict';
const path = require('path');
const fs = require('fs');
const Ajv = require('ajv-draft-04');

const dapSchema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'protocol', 'debugAdapterProtocol.json'), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(dapSchema, 'dap');
const envelope = ajv.compile({ $ref: 'dap#/definitions/Response' });
const eventEnvelope = ajv.compile({ $ref: 'dap#/definitions/Event' });

const int = { type: 'integer', minimum: 0 };
const shape = { type: 'array', items: int };
// layerscopeTensor's response body: a histogram or a heatmap (editor-extension/README.md).
const tensorBody = ajv.compile({
  type: 'object',
  required: ['shape', 'dtype'],
  properties: { shape, dtype: { type: 'string' } },
  oneOf: [
    { required: ['histogram', 'count', 'finite', 'nonfinite'],
      properties: {
        count: int, finite: int, nonfinite: int,
        histogram: { type: 'object', required: ['lo', 'hi', 'counts'], additionalProperties: false,
          properties: { lo: { type: 'number' }, hi: { type: 'number' }, counts: { type: 'array', minItems: 1, maxItems: 4096, items: int } } } } },
    { required: ['heatmap', 'head', 'heads', 'source', 'downsampled', 'block'],
      properties: {
        head: int, heads: { type: 'integer', minimum: 1 }, downsampled: { type: 'boolean' },
        source: { type: 'array', items: int, minItems: 2, maxItems: 2 },
        block: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2, maxItems: 2 },
        heatmap: { type: 'object', required: ['rows', 'cols', 'values'], additionalProperties: false,
          properties: { rows: { type: 'integer', minimum: 1, maximum: 128 }, cols: { type: 'integer', minimum: 1, maximum: 128 },
            values: { type: 'array', items: { type: ['number', 'null'] } } } } } },
  ],
});

const BODY = { layerscopeTensor: tensorBody };

// layerscopeModules: the module table a program reveals as it runs (append-only), for the
// Model Layers view (docs/agent.md).
const EVENT_BODY = {
  layerscopeModules: ajv.compile({
    type: 'object', required: ['start', 'modules'], additionalProperties: false,
    properties: { start: int, modules: { type: 'array', minItems: 1, items: { type: 'object', required: ['name', 'type', 'parent'],
      additionalProperties: false, properties: { name: { type: 'string' }, type: { type: 'string' }, parent: { type: 'integer', minimum: -1 } } } } } }),
};

// The harness's errors minus "no schema definition" for the custom commands, plus the
// envelope and body errors of every successful custom response the adapter sent.
function customErrors(checker) {
  const errs = checker.errors.filter((e) => !Object.keys(BODY).some((c) => e.startsWith(`response ${c}: no schema definition`)) &&
    !Object.keys(EVENT_BODY).some((c) => e.startsWith(`event ${c}: no schema definition`)));
  for (const m of checker.received) {
    if (m.type !== 'event' || !EVENT_BODY[m.event]) continue;
    if (!eventEnvelope(m)) errs.push(`event ${m.event} (envelope): ${ajv.errorsText(eventEnvelope.errors)}`);
    if (!EVENT_BODY[m.event](m.body)) errs.push(`event ${m.event} (body): ${ajv.errorsText(EVENT_BODY[m.event].errors)}`);
  }
  for (const m of checker.received) {
    if (m.type !== 'response' || !BODY[m.command] || !m.success) continue;
    if (!envelope(m)) errs.push(`response ${m.command} (envelope): ${ajv.errorsText(envelope.errors)}`);
    if (!BODY[m.command](m.body)) errs.push(`response ${m.command} (body): ${ajv.errorsText(BODY[m.command].errors)}`);
  }
  return errs;
}

module.exports = { customErrors };
