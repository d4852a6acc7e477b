// What the edit dialogs of node-red-contrib-segur-dpi share, loaded by each node's .html
// (<script src="resources/node-red-contrib-segur-dpi/segur-dpi-editor.js">, served by Node-RED from this
// folder): which configuration node a node takes by default, and the checks behind the red triangles.
// The pure functions come first — the unit tests load this file under Node (module.exports) and check
// them against the runtime's own checks (nodes/shared/establishment.ts) — then the few that touch RED.
(function (root, factory) {
    'use strict';
    var api = factory();
    if (typeof module === 'object' && module.exports) module.exports = api;
    else root.SegurDpiEditor = root.SegurDpiEditor || api;
})(this, function () {
    'use strict';

    var OID = /^[0-2](\.(0|[1-9]\d*))+$/;
    var FINESS = /^(\d{2}|2[AB])\d{7}$/;
    var TELECOM = /^(tel|fax|mailto|http|ftp|mllp):\S/;
    // an HL7 v2 field in ER7 form (MSH-3…6): nothing that would end the field
    var HL7_FIELD = /^[^|~\\\u0000-\u001f\u007f]*$/;
    // a whole value read from Node-RED's environment when the flows start (${NAME}): its value is
    // checked then, by the runtime (segur-establishment logs what is wrong), not in the editor
    var ENV_REFERENCE = /^\$\{[^}]+\}$/;

    function text(v) {
        return v === undefined || v === null ? '' : String(v).trim();
    }
    /** No value: empty, or the editor's "none" / "add new…" choice of a configuration select. */
    function blank(v) {
        var t = text(v);
        return t === '' || t === '_ADD_';
    }
    /** A whole value of the form ${NAME}, which Node-RED replaces by the environment variable NAME. */
    function isEnvReference(v) {
        return ENV_REFERENCE.test(text(v));
    }
    function isOid(v) {
        var t = text(v);
        return OID.test(t) && t.length <= 64;
    }
    function isFiness(v) {
        return FINESS.test(text(v));
    }
    function isTelecom(v) {
        return TELECOM.test(text(v));
    }
    function isHl7Field(v) {
        return HL7_FIELD.test(text(v));
    }
    /** An IANA time zone this browser (or Node) knows. */
    function isTimeZone(v) {
        var t = text(v);
        if (!t) return false;
        try {
            new Intl.DateTimeFormat('en-US', { timeZone: t });
            return true;
        } catch (e) {
            return false;
        }
    }

    /** The identifying fields of pdf-to-cda-n1 before segur-establishment (nodes/shared/establishment.ts LEGACY_CDA_FIELDS). */
    var LEGACY_CDA_FIELDS = [
        'documentIdRoot', 'setIdRoot', 'ippAuthorityOid', 'encounterIdRoot',
        'custodianFiness', 'custodianName', 'custodianStreet', 'custodianPostalCode', 'custodianCity', 'custodianTelecom',
        'hl7SendingApplication', 'hl7SendingFacility', 'hl7ReceivingApplication', 'hl7ReceivingFacility'
    ];
    /** What pdf-to-cda-n1 needs that an establishment may leave empty (nodes/shared/establishment.ts CDA_FIELDS). */
    var CDA_FIELDS = ['documentIdRoot', 'hl7SendingApplication', 'hl7SendingFacility', 'hl7ReceivingApplication', 'hl7ReceivingFacility'];

    /** Whether one of `fields` holds a value in `node`. */
    function hasAnyField(node, fields) {
        for (var i = 0; i < fields.length; i++) if (!blank(node[fields[i]])) return true;
        return false;
    }

    /** The old portability-export fields hold something: a producer, or a time zone other than the old default. */
    function hasLegacyExportFields(node) {
        return !blank(node.producerName) || !blank(node.producerFiness) || (!blank(node.timeZone) && text(node.timeZone) !== 'Europe/Paris');
    }

    /**
     * The fields of an establishment that are wrong, by name (nodes/shared/establishment.ts
     * establishmentProblems says why at run time): required FINESS and name; OIDs, telecom, time zone,
     * MSH-3…6, processing id checked when given. A field holding ${NAME} is left to the runtime, which
     * checks the value the environment gives it when the flows start.
     */
    function establishmentProblems(e) {
        var bad = [];
        function wrong(k, test) {
            if (!isEnvReference(e[k]) && !test(e[k])) bad.push(k);
        }
        ['documentIdRoot', 'setIdRoot', 'ippAuthorityOid', 'encounterIdRoot'].forEach(function (k) {
            wrong(k, function (v) { return blank(v) || isOid(v); });
        });
        wrong('custodianFiness', isFiness);
        wrong('custodianName', function (v) { return !blank(v); });
        wrong('custodianTelecom', function (v) { return blank(v) || isTelecom(v); });
        wrong('timeZone', function (v) { return isTimeZone(blank(v) ? 'Europe/Paris' : v); });
        ['hl7SendingApplication', 'hl7SendingFacility', 'hl7ReceivingApplication', 'hl7ReceivingFacility'].forEach(function (k) {
            wrong(k, isHl7Field);
        });
        wrong('hl7ProcessingId', function (v) { return blank(v) || ['P', 'T', 'D'].indexOf(text(v)) >= 0; });
        return bad;
    }

    /** The fields pdf-to-cda-n1 needs that the establishment leaves empty. */
    function missingForCda(e) {
        return CDA_FIELDS.filter(function (k) { return blank(e[k]); });
    }

    /**
     * The configuration node to take by default: the id of the only enabled node of `type` a node on tab
     * `z` may use (global, or on that tab — the editor's own rule for its selects), '' when there is none
     * or more than one. `configs`: [{id, type, z, d}].
     */
    function onlyCandidate(configs, type, z) {
        var found = configs.filter(function (c) { return c.type === type && !c.d && (!c.z || c.z === z); });
        return found.length === 1 ? found[0].id : '';
    }

    /**
     * A configuration reference: 'none' (empty), 'missing' (no such node), 'invalid' (its configuration
     * is wrong) or 'ok'. `lookup(id)` gives the configuration node or null.
     */
    function referenceState(value, lookup) {
        if (blank(value)) return 'none';
        var n = lookup(text(value));
        if (!n) return 'missing';
        return n.valid === false ? 'invalid' : 'ok';
    }

    var api = {
        blank: blank,
        isEnvReference: isEnvReference,
        isOid: isOid,
        isFiness: isFiness,
        isTelecom: isTelecom,
        isHl7Field: isHl7Field,
        isTimeZone: isTimeZone,
        LEGACY_CDA_FIELDS: LEGACY_CDA_FIELDS,
        CDA_FIELDS: CDA_FIELDS,
        hasAnyField: hasAnyField,
        hasLegacyExportFields: hasLegacyExportFields,
        establishmentProblems: establishmentProblems,
        missingForCda: missingForCda,
        onlyCandidate: onlyCandidate,
        referenceState: referenceState
    };

    // --- with RED (the editor) ----------------------------------------------------------------------

    /** The configuration nodes of the workspace, as onlyCandidate reads them. */
    function configs() {
        var list = [];
        RED.nodes.eachConfig(function (c) {
            list.push({ id: c.id, type: c.type, z: c.z, d: c.d });
        });
        return list;
    }

    /** A text of the node's message catalog (`this._` of a node definition). */
    api.t = function (node, key, subs) {
        var def = node && node._def;
        return def && typeof def._ === 'function' ? def._(key, subs) : RED._(key, subs);
    };

    /**
     * onadd: a node just created from the palette (or the quick-add dialog) takes the only configuration
     * node of `type` for `property` when it has none. Node-RED calls onadd before giving such a node its
     * position; a node imported (which already has one) keeps what its flow says. `unless(node)`: a
     * reason to leave it empty (old fields that would be ignored).
     */
    api.adopt = function (node, property, type, unless) {
        if (node.x !== undefined || !blank(node[property]) || (unless && unless(node))) return;
        var id = onlyCandidate(configs(), type, node.z);
        if (id) node[property] = id;
    };

    /**
     * oneditprepare: the configuration select of `property` shows the only node of `type` when it shows
     * none (a node added before that configuration node, or imported without one).
     */
    api.adoptInDialog = function (node, property, type, unless) {
        var select = $('#node-input-' + property);
        if (!blank(select.val()) || (unless && unless(node))) return;
        var id = onlyCandidate(configs(), type, node.z);
        if (id) select.val(id);
    };

    /**
     * A `validate` of a configuration property the node cannot work without: a text for the red triangle's
     * tooltip (Node-RED reads a string only from a validator declaring two parameters). `messages` are
     * keys of the node's catalog: none, missing, invalid. No `required: true` beside it: for an empty value
     * Node-RED would then skip the validator and only name the property.
     */
    api.requiredConfig = function (messages) {
        return function (v, opt) {
            var state = referenceState(v, function (id) { return RED.nodes.node(id); });
            return state === 'ok' ? true : api.t(this, messages[state]);
        };
    };

    return api;
});
