/** The standard reader interface: the public face transports and the QA kit import. */
export {
  createReaderInterface,
  checkParams,
  type ReaderInterface,
  type ReaderInterfaceOptions,
  type ReaderInterfaceRequest,
  type ReaderInterfaceResult,
} from './interface.ts';
export {
  READER_FUNCTIONS,
  READER_FUNCTION_PARAMS,
  READER_FUNCTION_SPECS,
  functionSpec,
  type FunctionSpec,
  type ParamKind,
} from './functions.ts';
export { RC, CODE_MEANINGS, describeCode } from './codes.ts';
export {
  VirtualPinPad,
  PinPadError,
  PIN_ENTRY_PATTERN,
  type PinPad,
  type PinEntry,
  type PinRequest,
} from './pin-pad.ts';
export { CardManagementCentre, type CentreAnswer } from './card-management.ts';
export {
  parseSettings,
  SettingsError,
  readerInterfaceSettingsSchema,
  type ReaderInterfaceSettings,
} from './settings.ts';
export type { DebitTill } from './context.ts';
export { OUTPUT_FIELDS, outputField, splitOutInfo } from './output-fields.ts';
export { CODE_MEANINGS as RETURN_CODE_MEANINGS } from './codes.ts';
