/** CDK entry point (`cdk.json` "app"): instantiates the stack with settings from CDK context, nothing else. */
import { App } from 'aws-cdk-lib';
import { stackPropsFromContext } from './aws/context';
import { DevAccessStack } from './aws/devaccess-stack';

const app = new App();
new DevAccessStack(app, 'DevAccess', stackPropsFromContext(app.node));
