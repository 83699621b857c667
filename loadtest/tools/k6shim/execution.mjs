// k6/execution stand-in for the dry run.
export default { scenario: { name: 'shim', iterationInTest: 0 }, vu: { idInTest: 1 } };
